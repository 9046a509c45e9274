import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from substrapp import accounts
from substrapp.api.serializers.common import DetailSerializer
from substrapp.api.serializers.tokens import (
    ActiveTokensSerializer,
    ApiTokenRequestSerializer,
    ApiTokenSerializer,
    LoginSerializer,
    NewApiTokenSerializer,
    TokenSerializer,
)


class LoginView(APIView):
    """Username and password (form-encoded, as the SDK sends them) for a new expiring token."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(request=LoginSerializer, responses=TokenSerializer)
    def post(self, request):
        credentials = LoginSerializer(data=request.data, context={"request": request})
        credentials.is_valid(raise_exception=True)
        token = accounts.issue_token(credentials.validated_data["user"])
        return Response(TokenSerializer(token).data)


class ApiTokenView(APIView):
    """A token for a program (the web frontend's API tokens page): a note and an expiry."""

    @extend_schema(request=ApiTokenRequestSerializer, responses=NewApiTokenSerializer)
    def post(self, request):
        wanted = ApiTokenRequestSerializer(data=request.data)
        wanted.is_valid(raise_exception=True)
        token = accounts.issue_token(request.user, **wanted.validated_data)
        return Response(NewApiTokenSerializer(token).data)


class ActiveTokenView(APIView):
    """`GET`: the caller's tokens that have not expired, without their keys. `DELETE ?id=<token
    id>` (the SDK's logout) revokes one of them."""

    permission_classes = (IsAuthenticated,)

    @extend_schema(responses=ActiveTokensSerializer)
    def get(self, request):
        return Response({"tokens": ApiTokenSerializer(accounts.active_tokens(request.user), many=True).data})

    @extend_schema(
        parameters=[OpenApiParameter("id", uuid.UUID, required=True, description="the id given at login")],
        responses={200: DetailSerializer},
    )
    def delete(self, request):
        try:
            token_id = uuid.UUID(request.query_params.get("id", ""))
        except ValueError:
            raise NotFound("Token not found.") from None
        if not accounts.revoke_token(request.user, token_id):
            raise NotFound("Token not found.")
        return Response({"detail": "Token removed."})
