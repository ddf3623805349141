from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView


class Me(APIView):
    def get(self, request):
        return Response({"id": request.user.pk})


urlpatterns = [
    path("api/token/pair", TokenObtainPairView.as_view()),
    path("api/token/refresh", TokenRefreshView.as_view()),
    path("api/me", Me.as_view()),
]
