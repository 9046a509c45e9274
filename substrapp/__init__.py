"""The organization's Django app. One module per concern:

models/          users and their channel, API tokens, peer credentials, mirrored assets
accounts.py      user and token rules (create a channel user, issue and revoke tokens)
peers.py         credentials of the other organizations, both ways
channels.py      the configured channels and their options
orchestration.py one orchestrator client per channel
authentication.py, middleware.py, admin.py
api/             REST API: errors, pagination, permissions, channel scoping, serializers, views
"""
