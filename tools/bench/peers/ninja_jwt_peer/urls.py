from django.urls import path
from ninja_extra import NinjaExtraAPI
from ninja_jwt.authentication import JWTAuth
from ninja_jwt.controller import NinjaJWTDefaultController

api = NinjaExtraAPI()
api.register_controllers(NinjaJWTDefaultController)


@api.get("/ping")
def ping(request):
    return {"status": "ok"}


@api.get("/me", auth=JWTAuth())
def me(request):
    return {"id": request.auth.pk}


urlpatterns = [path("api/", api.urls)]
