"""Pages people open from their email: one-click unsubscribe and notification settings.

Server-rendered HTML in the email's branding, no script; a signed link is the authority.
"""
