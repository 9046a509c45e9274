"""Sign in and out with Django's session (CSRF on, HttpOnly cookie). The REST API keeps its own
token authentication; the session is the console's."""

from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy


class SignInView(auth_views.LoginView):
    template_name = "console/login.html"
    redirect_authenticated_user = True
    next_page = reverse_lazy("console:plans")


class SignOutView(auth_views.LogoutView):
    """POST only (Django's LogoutView): a link or an image cannot sign a user out."""

    next_page = reverse_lazy("console:login")
