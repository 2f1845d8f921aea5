"""Feishu/Lark: webhook and long-connection events in, Open API messages and cards out."""

from adapters.feishu.adapter import FeishuAdapter

__all__ = ["FeishuAdapter"]
