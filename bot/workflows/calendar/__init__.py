"""The team calendar (假期, 调休, 日历) and people's leave (请假, 销假)."""
