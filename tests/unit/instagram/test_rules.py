"""The Instagram queue's plain rules: states, pre-flight, error policy, quota, token expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carrier_studio.core.instagram import (
    TRANSITIONS,
    Backoff,
    ContainerExpiredError,
    GraphAuthError,
    IllegalTransitionError,
    MediaFile,
    MediaInfo,
    NotReadyError,
    PollSchedule,
    PostKind,
    PostState,
    QueuedPost,
    Quota,
    QuotaExhaustedError,
    StopGraphError,
    TransientGraphError,
    check_caption,
    check_post,
    classify,
    convertible,
    hashtags,
    token_warning,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _post(state: PostState, **kw) -> QueuedPost:
    return QueuedPost(1, PostKind.IMAGE, (MediaFile("/a.jpg", "image"),), state=state, **kw)


def test_the_happy_path_is_legal_and_shortcuts_are_not():
    post = _post(PostState.QUEUED)
    for state in ("uploading", "uploaded", "container_created", "ready", "publishing",
                  "published"):  # fmt: skip
        post = post.transition(PostState(state))
    assert post.state is PostState.PUBLISHED
    with pytest.raises(IllegalTransitionError, match="already on Instagram"):
        post.transition(PostState.QUEUED)
    with pytest.raises(IllegalTransitionError, match="from uploaded to publishing"):
        _post(PostState.UPLOADED).transition(PostState.PUBLISHING)
    with pytest.raises(IllegalTransitionError, match="being published"):
        _post(PostState.PUBLISHING).transition(PostState.CANCELLED)


def test_every_state_but_published_can_end_and_failed_can_retry():
    for state, targets in TRANSITIONS.items():
        if state not in (PostState.PUBLISHED, PostState.CANCELLED):
            assert PostState.FAILED in targets or state is PostState.FAILED, state
    assert PostState.QUEUED in TRANSITIONS[PostState.FAILED]
    assert TRANSITIONS[PostState.PUBLISHED] == frozenset()


def test_a_post_is_due_by_schedule_and_backoff():
    assert _post(PostState.QUEUED).is_due(NOW)
    assert not _post(PostState.QUEUED, scheduled_at=NOW + timedelta(minutes=1)).is_due(NOW)
    assert not _post(PostState.READY, next_attempt_at=NOW + timedelta(seconds=1)).is_due(NOW)
    assert not _post(PostState.FAILED).is_due(NOW)


def _image(name="a.png", fmt="PNG", size=1000, w=1080, h=1080) -> MediaInfo:
    return MediaInfo(f"/in/{name}", "image", fmt, size, w, h)


def _video(name="v.mp4", seconds=10.0, size=1000, fmt="MP4") -> MediaInfo:
    return MediaInfo(f"/in/{name}", "video", fmt, size, 1080, 1920, seconds)


def test_image_findings_name_the_file_and_say_what_a_conversion_fixes():
    info = _image(size=9 * 1024 * 1024, w=2000, h=800)
    findings = check_post([info], PostKind.IMAGE, "")
    assert [(f.code, f.field, f.file, f.fixable) for f in findings] == [
        ("format", "media", "/in/a.png", True),
        ("size", "media", "/in/a.png", True),
        ("aspect", "media", "/in/a.png", True),
    ]
    assert str(findings[2]).startswith("a.png: is 2000×800 (aspect 2.50:1)")
    assert convertible(findings, "/in/a.png")
    assert check_post([_image(fmt="JPEG", w=1080, h=1350)], PostKind.IMAGE, "") == []
    assert check_post([_image(fmt="JPEG", w=1080, h=1400)], PostKind.IMAGE, "")[0].code == (
        "aspect"
    )


def test_stories_skip_the_feed_aspect_limits():
    assert check_post([_image(fmt="JPEG", w=1080, h=1920)], PostKind.STORY, "") == []


def test_video_limits_by_kind():
    def codes(info, kind):
        return [f.code for f in check_post([info], kind, "")]

    assert codes(_video(seconds=30), PostKind.REEL) == []
    assert codes(_video(seconds=2), PostKind.REEL) == ["duration"]
    assert codes(_video(seconds=16 * 60), PostKind.REEL) == ["duration"]
    assert codes(_video(seconds=61), PostKind.STORY) == ["duration"]
    assert codes(_video(size=301 * 1024 * 1024), PostKind.REEL) == ["size"]
    assert codes(_video(fmt="AVI"), PostKind.REEL) == ["format"]
    assert codes(_video(), PostKind.IMAGE) == ["kind"]
    assert codes(_image(fmt="JPEG"), PostKind.REEL) == ["kind"]
    findings = check_post([_video(seconds=2)], PostKind.REEL, "")
    assert not findings[0].fixable and not convertible(findings, "/in/v.mp4")


def test_carousel_counts():
    jpeg = _image(fmt="JPEG")
    assert check_post([jpeg], PostKind.CAROUSEL, "")[0].code == "count"
    assert check_post([jpeg] * 11, PostKind.CAROUSEL, "")[0].message.startswith(
        "a carousel holds 2 to 10 files, not 11"
    )
    assert check_post([jpeg] * 10, PostKind.CAROUSEL, "") == []
    assert check_post([jpeg, jpeg], PostKind.IMAGE, "")[0].code == "count"


def test_caption_limits():
    assert check_caption("x" * 2200) == []
    (long,) = check_caption("x" * 2201)
    assert long.code == "caption_length" and "remove 1" in long.message
    tags = " ".join(f"#tag{i}" for i in range(31))
    (many,) = check_caption(tags)
    assert many.code == "hashtags" and "31 hashtags" in many.message and many.field == "caption"
    assert hashtags("a #b c#d &#x e #f_g") == ["#b", "#f_g"]
    assert check_caption(" ".join(f"@u{i}" for i in range(21)))[0].code == "mentions"


@pytest.mark.parametrize(
    ("code", "subcode", "status", "kind", "words"),
    [
        (190, 463, 400, GraphAuthError, "expired or was revoked"),
        (200, None, 403, GraphAuthError, "permission"),
        (9007, 2207027, 400, NotReadyError, "still being processed"),
        (100, 2207020, 400, ContainerExpiredError, "expired"),
        (4, 2207042, 400, QuotaExhaustedError, "daily publishing limit"),
        (2, None, 503, TransientGraphError, "temporarily unavailable"),
        (17, None, 400, TransientGraphError, "rate limit"),
        (100, 2207051, 400, StopGraphError, "spam"),
        (100, 2207050, 400, StopGraphError, "restricted"),
        (100, 2207004, 400, StopGraphError, "too large"),
        (12345, None, 500, TransientGraphError, "failed"),
        (12345, None, 400, StopGraphError, "failed"),
    ],
)
def test_graph_errors_map_to_a_policy_and_a_clear_message(code, subcode, status, kind, words):
    error = classify(code, subcode, "Meta's words", status)
    assert type(error) is kind and words in error.message
    assert f"code {code}" in str(error) and "Meta's words" in str(error)
    assert error.action in {"retry", "stop", "wait", "recreate", "quota"}


def test_auth_errors_tell_where_to_fix_them():
    assert "Settings" in str(classify(190, None, "", 400))


def test_quota_comes_from_the_reading():
    reading = {"quota_usage": 24, "config": {"quota_total": 25, "quota_duration": 86400}}
    quota = Quota.from_reading(reading, NOW)
    assert quota.remaining == 1 and quota.allows() and not quota.exhausted
    full = Quota.from_reading({"quota_usage": 50, "config": {"quota_total": 50}}, NOW)
    assert full.exhausted and full.label() == "50 of 50 posts in the last 24 h"
    with pytest.raises(ValueError, match="quota_total"):
        Quota.from_reading({"quota_usage": 3}, NOW)


def test_token_warnings():
    assert token_warning(None, NOW) is None
    assert token_warning(NOW + timedelta(days=30), NOW) is None
    soon = token_warning(NOW + timedelta(days=2, hours=1), NOW)
    assert soon and "expires in 2 days" in soon
    assert "expires today" in token_warning(NOW + timedelta(hours=3), NOW)
    gone = token_warning(NOW - timedelta(hours=1), NOW)
    assert gone and "expired" in gone and "stopped" in gone


def test_backoff_and_polling_schedules():
    backoff = Backoff(first=30, factor=2, cap=100)
    assert [backoff.delay(n) for n in (1, 2, 3, 4)] == [30, 60, 100, 100]
    delays = list(PollSchedule(first=2, factor=2, cap=10, total=30).delays())
    assert delays == [2, 4, 8, 10, 6] and sum(delays) == 30
    assert sum(PollSchedule().delays()) >= 15 * 60, "long enough for a reel"
