"""DingTalk."""
