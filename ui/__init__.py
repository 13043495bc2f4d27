"""The Gradio web app and the JSON HTTP API (one server, one port)."""
