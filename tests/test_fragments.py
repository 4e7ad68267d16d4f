"""Shared page fragments: rendered once per process however many requests miss at once."""

import threading
import time

from django.test import override_settings
from django.utils.safestring import SafeString

from storefront.fragments import shared_fragment


@override_settings(CATALOGUE_CACHE_SECONDS=1)
def test_requests_that_miss_together_share_one_rendering():
    renders = []

    def render() -> str:
        renders.append(1)
        time.sleep(0.2)  # long enough for every other request to miss meanwhile
        return SafeString("<p>53 products</p>")

    answers = []
    start = threading.Barrier(10)

    def request() -> None:
        start.wait()
        answers.append(shared_fragment("catalogue-list:|yoga mat|-", render))

    threads = [threading.Thread(target=request) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(renders) == 1
    assert answers == ["<p>53 products</p>"] * 10
    assert all(isinstance(answer, SafeString) for answer in answers)  # the page includes it as is


@override_settings(CATALOGUE_CACHE_SECONDS=0)
def test_with_sharing_off_every_request_renders():
    renders = []
    for _ in range(3):
        shared_fragment("catalogue-head", lambda: renders.append(1) or SafeString("<h1>All</h1>"))
    assert len(renders) == 3
