"""The Flask web app: the factory, webhooks, the web chat, legal pages, links, metrics and the inbox."""
