from django.contrib import admin
from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="index"),
    path("hello", views.hello, name="hello"),
    path("ahello", views.ahello, name="ahello"),
    path("items", views.items, name="items"),
    path("echo", views.echo, name="echo"),
    path("aecho", views.aecho, name="aecho"),
    path("echo/<path:rest>", views.echo, name="echo-path"),
    path("aecho/<path:rest>", views.aecho, name="aecho-path"),
    path("upload", views.upload, name="upload"),
    path("upload-form", views.upload_form, name="upload-form"),
    path("sleep", views.sleep, name="sleep"),
    path("asleep", views.asleep, name="asleep"),
    path("stream", views.stream, name="stream"),
    path("astream", views.astream, name="astream"),
    path("download", views.download, name="download"),
    path("file", views.file, name="file"),
    path("error", views.error, name="error"),
    path("redirect", views.redirect, name="redirect"),
    path("cookies", views.cookies, name="cookies"),
    path("nocontent", views.nocontent, name="nocontent"),
    path("notmodified", views.notmodified, name="notmodified"),
    path("print", views.print_view, name="print"),
    path("admin/", admin.site.urls),
]
