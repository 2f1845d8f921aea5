"""Feishu/Lark: webhook and long-connection events in, Open API messages and cards out."""
