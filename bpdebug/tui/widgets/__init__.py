"""Widgets of the debugger screen: each takes plain arrays and draws them."""
