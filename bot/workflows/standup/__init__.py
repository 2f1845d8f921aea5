"""The daily stand-up (站会) of a chat: prompt, reminder, summary, and members' answers."""
