"""Who may hand a decision over, and to whom (bot/engine/policy.py), as plain rules."""

from __future__ import annotations

from bot.engine.policy import HandOverBar, HandOverTarget, hand_over_bar, may_hand_over

TENANT, DECIDER, REQUESTER, FELLOW, DEPUTY = 1, 10, 20, 30, 40


def bar(target: int, *, tenant: int = TENANT, away: bool = False) -> HandOverBar | None:
    return hand_over_bar(HandOverTarget(target, tenant, away), tenant_id=TENANT, decider_id=DECIDER,
                         requester_id=REQUESTER, fellow_decider_ids=[FELLOW])


def test_the_decider_hands_over_and_others_only_for_a_decider_on_leave() -> None:
    assert may_hand_over(DECIDER, DECIDER, acts_for_absent=False)
    assert not may_hand_over(REQUESTER, DECIDER, acts_for_absent=False)
    assert may_hand_over(REQUESTER, DECIDER, acts_for_absent=True)


def test_any_other_member_at_work_may_take_it() -> None:
    assert bar(DEPUTY) is None


def test_whom_a_decision_may_not_go_to() -> None:
    assert bar(DECIDER) is HandOverBar.SAME
    assert bar(REQUESTER) is HandOverBar.REQUESTER
    assert bar(FELLOW) is HandOverBar.ALSO_ASKED
    assert bar(DEPUTY, tenant=2) is HandOverBar.NOT_A_MEMBER
    assert bar(DEPUTY, away=True) is HandOverBar.AWAY
