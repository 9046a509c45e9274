"""The organization's web console: server-rendered pages over the same mirror, scoping and
permission helpers as the REST API (substrapp), signed in with Django's session."""
