"""The local console simulator: a chat page and a JSON API that play the platform's part."""
