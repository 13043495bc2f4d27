"""The web page's tabs, one module each; :func:`ui.app.build_blocks` composes them around a :class:`~ui.tabs.context.TabContext`."""
