"""问题上报: blockers (卡点, 24 h) and risks (风险, 4 h when high) answered by a named receiver."""
