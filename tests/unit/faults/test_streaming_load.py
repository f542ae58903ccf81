"""The load generator's streamed share: complete answers count as served, a stream cut by the fault
proxy counts as a failure even though its status was 200 (a truncated answer is never a success)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runbooks.load import LoadGenerator, summarize
from tests.doubles.llama_double import LlamaDouble
from tests.unit.faults.conftest import Proxy


@pytest.fixture
def cut_proxy(tmp_path, llama: LlamaDouble) -> Iterator[Proxy]:
    p = Proxy(tmp_path, llama.url, "--mode", "stream-cut", "--cut-after", "300")
    yield p
    p.proc.kill()
    p.proc.wait()


def _run(url: str, share: float, count: int) -> list:
    gen = LoadGenerator(f"{url}/v1/chat/completions", {"model": "double"}, rate=50, backend_of=lambda r: "double",
                        timeout_s=10, stream_share=share)  # fmt: skip
    gen.start()
    gen.wait_answered(count)
    gen.stop()  # waits for the requests in flight: every request sent is in the snapshot
    return sorted(gen.snapshot(), key=lambda s: s.sent_s)[:count]


def test_the_streamed_share_is_spread_evenly() -> None:
    gen = LoadGenerator("http://127.0.0.1:9", {}, rate=1, backend_of=lambda r: None, stream_share=0.25)
    assert [gen.streams(i) for i in range(8)] == [False, False, False, True] * 2


def test_complete_streams_are_served(llama: LlamaDouble) -> None:
    samples = _run(llama.url, 0.5, 10)
    assert all(s.ok for s in samples), [s.error for s in samples if not s.ok]
    assert summarize(samples)["streamed"] == 5 and summarize(samples)["silent_truncations"] == 0


def test_a_cut_stream_is_a_failure_not_a_success(cut_proxy: Proxy) -> None:
    samples = _run(cut_proxy.url, 1.0, 4)
    assert [s.status for s in samples] == [200] * 4 and not any(s.ok for s in samples)
    assert all((s.error or "").startswith("stream broken: RemoteProtocolError") for s in samples)
    assert summarize(samples)["silent_truncations"] == 0  # the client's HTTP library saw the cut


def test_a_bad_share_is_refused() -> None:
    with pytest.raises(ValueError, match="stream_share"):
        LoadGenerator("http://127.0.0.1:9", {}, rate=1, backend_of=lambda r: None, stream_share=1.5)


def test_a_stream_that_ends_in_good_order_but_short_is_a_silent_truncation(llama: LlamaDouble) -> None:
    llama.stream_words = 3  # finish_reason and [DONE] never come, the body ends properly
    try:
        samples = _run(llama.url, 1.0, 2)
    finally:
        llama.stream_words = None
    assert not any(s.ok for s in samples) and summarize(samples)["silent_truncations"] == 2
