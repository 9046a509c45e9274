"""The organization's Django app(s): REST API for the substra SDK, local asset mirror, users,
org-to-org transfers and the event consumer. Coming with the backend issue."""
