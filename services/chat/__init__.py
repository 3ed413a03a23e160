"""The chat demo: a long-polling chat room in the style of Tornado's chat demo, with several rooms."""
