"""Which configurations may run several serving processes, and what the operator is told otherwise."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from adapters.console.settings import ConsoleSettings
from adapters.dingtalk.settings import DingTalkSettings
from adapters.feishu.settings import FeishuSettings
from adapters.wecom.settings import WeComSettings
from bot.cli import main
from bot.clock import FrozenClock
from bot.config import Settings
from bot.platforms import build_adapters
from bot.workers import workers_problem
from storage.cache import InProcessCache

PG = "postgresql+asyncpg://tuijin@db.internal/tuijin"
REDIS = "redis://cache.internal:6379/0"


def settings(**overrides: object) -> Settings:
    base: dict[str, object] = {
        "workers": 4, "database_url": PG, "redis_url": REDIS, "console": ConsoleSettings(enabled=False),
        "feishu": FeishuSettings(app_id="cli_x", app_secret=SecretStr("s")),
    }
    return Settings(_env_file=None, **{**base, **overrides})  # type: ignore[arg-type]


def test_webhook_mode_on_postgres_and_redis_may_run_several_workers() -> None:
    assert workers_problem(settings()) is None
    assert workers_problem(settings(workers=1, database_url="", redis_url="")) is None


@pytest.mark.parametrize(("overrides", "named"), [
    ({"database_url": ""}, "needs PostgreSQL"),
    ({"database_url": "sqlite+aiosqlite:///data/x.sqlite3"}, "needs PostgreSQL"),
    ({"redis_url": ""}, "needs Redis"),
    ({"console": ConsoleSettings(enabled=True)}, "TUIJIN_CONSOLE__ENABLED=false"),
    ({"feishu": FeishuSettings(app_id="cli_x", app_secret=SecretStr("s"), mode="longconn")},
     "TUIJIN_FEISHU__MODE=longconn"),
    ({"dingtalk": DingTalkSettings(client_id="ding_x")}, "TUIJIN_DINGTALK__MODE=stream"),
    ({"wecom": WeComSettings(bot_id="aibot_x", mode="longconn")}, "TUIJIN_WECOM__MODE=longconn"),
])
def test_what_cannot_be_shared_by_processes_is_refused_with_what_to_change(
    overrides: dict[str, object], named: str
) -> None:
    problem = workers_problem(settings(**overrides))
    assert problem is not None and named in problem


def test_callback_modes_of_dingtalk_and_wecom_are_fine() -> None:
    assert workers_problem(settings(dingtalk=DingTalkSettings(client_id="ding_x", mode="http"),
                                    wecom=WeComSettings(corp_id="ww_x", mode="callback"))) is None


def test_serve_with_workers_on_sqlite_exits_2_before_starting_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    for name in ("TUIJIN_DATABASE_URL", "TUIJIN_REDIS_URL", "TUIJIN_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    assert main(["serve", "--workers", "3"]) == 2
    assert "needs PostgreSQL" in capsys.readouterr().err


def test_the_demo_runs_in_one_process(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                      tmp_path: object) -> None:
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    assert main(["demo", "--workers", "2"]) == 2
    assert "one process" in capsys.readouterr().err


@pytest.mark.parametrize(("overrides", "named"), [
    ({"database_url": ""}, "TUIJIN_PROCESSORS needs PostgreSQL"),
    ({"redis_url": ""}, "TUIJIN_PROCESSORS needs Redis"),
    ({"console": ConsoleSettings(enabled=True)}, "TUIJIN_CONSOLE__ENABLED=false"),
])
def test_processors_need_what_several_workers_need(overrides: dict[str, object], named: str) -> None:
    problem = workers_problem(settings(workers=1, processors=1, **overrides))
    assert problem is not None and named in problem


def test_one_serving_worker_with_processors_may_hold_a_long_connection() -> None:
    """Every event still arrives in the one serving process; the processors only take it from the inbox."""
    longconn = FeishuSettings(app_id="cli_x", app_secret=SecretStr("s"), mode="longconn")
    assert workers_problem(settings(workers=1, processors=2, feishu=longconn)) is None
    problem = workers_problem(settings(workers=2, processors=2, feishu=longconn))
    assert problem is not None and "TUIJIN_FEISHU__MODE=longconn" in problem


def test_serve_with_processors_on_sqlite_exits_2_before_starting_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    for name in ("TUIJIN_DATABASE_URL", "TUIJIN_REDIS_URL", "TUIJIN_WORKERS", "TUIJIN_PROCESSORS"):
        monkeypatch.delenv(name, raising=False)
    assert main(["serve", "--processors", "1"]) == 2
    assert "TUIJIN_PROCESSORS needs PostgreSQL" in capsys.readouterr().err


def test_with_processors_only_they_send_so_they_share_the_quota() -> None:
    assert settings(workers=4).senders == 4
    with_processors = settings(workers=2, processors=3)
    assert with_processors.senders == 3
    clock = FrozenClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    cache = InProcessCache(clock=clock)
    feishu = build_adapters(with_processors, sink=None, cache=cache, clock=clock)["feishu"]  # type: ignore[arg-type]
    assert feishu._processes == 3  # type: ignore[attr-defined]


def test_a_bad_setting_is_named_in_one_line_without_a_traceback_or_the_values(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    monkeypatch.setenv("TUIJIN_INBOX__CONCURRENCY", "many")
    monkeypatch.setenv("TUIJIN_FEISHU__APP_SECRET", "s3cr3t-value")
    assert main(["serve", "--processors", "-1"]) == 2
    err = capsys.readouterr().err
    assert "TUIJIN_PROCESSORS: Input should be greater than or equal to 0" in err
    assert "TUIJIN_INBOX__CONCURRENCY:" in err
    assert "Traceback" not in err and "many" not in err and "s3cr3t" not in err
