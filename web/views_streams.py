"""The content stream screens (marketing and admins; everyone else gets 403): every
stream with its members by status, a stream's page (edit it, pause or resume it, its
pieces in order with delivered, opened and clicked, add, edit, move, retire, delete a
piece). Each button calls one service of `nurture.streams`, as the API and the CLI do."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from leads.errors import FieldError, NotPermitted
from nurture import streams
from nurture.choices import StreamStatus
from nurture.models import ContentPiece, ContentStream
from nurture.rules_streams import WEEKDAYS
from users.models import User

from .decorators import viewer_page
from .forms_streams import PieceForm, StreamForm


def _marketing(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # viewer_page guarantees a signed-in user
    try:
        streams.check_may_manage(user)
    except NotPermitted as error:
        raise PermissionDenied(error.message) from error
    return user


def _refused(form: forms.Form, error: FieldError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


@viewer_page
def stream_index(request: HttpRequest) -> HttpResponse:
    user = _marketing(request)
    form = StreamForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                made = streams.create_stream(
                    by=user, now=timezone.now(), **form.fields_for_service()
                )
            except FieldError as error:
                _refused(form, error)
            else:
                messages.success(request, f"Stream “{made.name}” created.")
                return redirect("web:stream", made.pk)
    found = streams.streams_with_counts().order_by("name")
    return render(request, "web/streams.html", {"streams": found, "form": form}, status=status)


@viewer_page
def stream_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _marketing(request)
    stream = get_object_or_404(ContentStream.objects.select_related("enrol_list"), pk=pk)
    form = StreamForm(initial=StreamForm.initial_for(stream))
    piece_form = PieceForm()
    status = 200
    if request.method == "POST":
        status = 400
        if request.POST.get("form") == "piece":
            piece_form = PieceForm(request.POST)
            if piece_form.is_valid():
                try:
                    piece = streams.add_piece(
                        stream, by=user, now=timezone.now(), **piece_form.cleaned_data
                    )
                except FieldError as error:
                    _refused(piece_form, error)
                else:
                    messages.success(request, f"Piece “{piece.title}” added.")
                    return redirect("web:stream", stream.pk)
        else:
            form = StreamForm(request.POST)
            if form.is_valid():
                try:
                    streams.update_stream(
                        stream, by=user, now=timezone.now(), **form.fields_for_service()
                    )
                except FieldError as error:
                    _refused(form, error)
                else:
                    messages.success(request, f"Stream “{stream.name}” saved.")
                    return redirect("web:stream", stream.pk)
    context = {
        "stream": stream,
        "form": form,
        "piece_form": piece_form,
        "pieces": streams.pieces_with_counts(stream),
        "members": streams.member_counts(stream),
        "weekday": (
            WEEKDAYS[stream.send_weekday].capitalize() if stream.send_weekday is not None else ""
        ),
    }
    return render(request, "web/stream.html", context, status=status)


@require_POST
@viewer_page
def stream_status(request: HttpRequest, pk: int) -> HttpResponse:
    user = _marketing(request)
    stream = get_object_or_404(ContentStream, pk=pk)
    if request.POST.get("status") == StreamStatus.PAUSED:
        streams.pause_stream(stream, by=user, now=timezone.now())
        messages.success(request, f"Stream “{stream.name}” paused: nothing is sent.")
    else:
        streams.resume_stream(stream, by=user, now=timezone.now())
        messages.success(request, f"Stream “{stream.name}” resumed.")
    return redirect("web:stream", stream.pk)


@require_POST
@viewer_page
def stream_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = _marketing(request)
    stream = get_object_or_404(ContentStream, pk=pk)
    try:
        streams.delete_stream(stream, by=user)
    except FieldError as error:
        messages.error(request, error.message)
        return redirect("web:stream", stream.pk)
    messages.success(request, f"Stream “{stream.name}” deleted.")
    return redirect("web:streams")


def _piece(pk: int, piece_pk: int) -> ContentPiece:
    return get_object_or_404(
        ContentPiece.objects.select_related("stream"), pk=piece_pk, stream_id=pk
    )


@viewer_page
def piece_edit(request: HttpRequest, pk: int, piece_pk: int) -> HttpResponse:
    user = _marketing(request)
    piece = _piece(pk, piece_pk)
    form = PieceForm(request.POST or None, initial=PieceForm.initial_for(piece))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                streams.update_piece(piece, by=user, **form.cleaned_data)
            except FieldError as error:
                _refused(form, error)
            else:
                messages.success(request, f"Piece “{piece.title}” saved.")
                return redirect("web:stream", pk)
    context = {"stream": piece.stream, "piece": piece, "form": form}
    return render(request, "web/stream_piece.html", context, status=status)


@require_POST
@viewer_page
def piece_action(request: HttpRequest, pk: int, piece_pk: int) -> HttpResponse:
    """Move a piece up or down, retire or reactivate it, or delete it."""
    user = _marketing(request)
    piece = _piece(pk, piece_pk)
    action = request.POST.get("action", "")
    try:
        if action in ("up", "down"):
            streams.move_piece(piece, by=user, offset=-1 if action == "up" else 1)
        elif action in ("retire", "reactivate"):
            streams.update_piece(piece, by=user, is_active=action == "reactivate")
            messages.success(request, f"Piece “{piece.title}” {action}d.")
        elif action == "delete":
            streams.delete_piece(piece, by=user)
            messages.success(request, f"Piece “{piece.title}” deleted.")
        else:
            messages.error(
                request, f"action: {action!r} is not up, down, retire, reactivate or delete"
            )
    except FieldError as error:
        messages.error(request, error.message)
    return redirect("web:stream", pk)
