"""InProcessEventBus: tenant isolation, fan-out, slow subscribers, unsubscribe, close."""

from __future__ import annotations

import asyncio
import json

import pytest

from oratio_voice.events import (
    SESSION_STARTED,
    SESSION_TURN,
    Event,
    EventBus,
    InProcessEventBus,
    Subscription,
)


async def take(subscription: Subscription, count: int) -> list[Event]:
    async with asyncio.timeout(2):
        return [await anext(subscription) for _ in range(count)]


async def nothing_pending(subscription: Subscription) -> bool:
    await asyncio.sleep(0)
    return subscription.pending == 0


def turn(tenant_id: str, n: int) -> Event:
    return Event(SESSION_TURN, tenant_id, {"seq": n})


async def test_subscriber_sees_only_its_tenant() -> None:
    bus = InProcessEventBus()
    async with bus.subscribe("ten_a") as a, bus.subscribe("ten_b") as b:
        await bus.publish(turn("ten_a", 1))
        await bus.publish(turn("ten_b", 2))
        await bus.publish(turn("ten_c", 3))  # nobody listens
        await bus.publish(turn("ten_a", 4))
        assert [e.data["seq"] for e in await take(a, 2)] == [1, 4]
        assert [e.data["seq"] for e in await take(b, 1)] == [2]
        assert await nothing_pending(a) and await nothing_pending(b)


async def test_fan_out_to_every_subscriber_in_order() -> None:
    bus = InProcessEventBus()
    async with (
        bus.subscribe("ten_a") as one,
        bus.subscribe("ten_a") as two,
        bus.subscribe("ten_a") as three,
    ):
        assert bus.subscriber_count("ten_a") == 3
        for n in range(5):
            await bus.publish(turn("ten_a", n))
        for sub in (one, two, three):
            assert [e.data["seq"] for e in await take(sub, 5)] == list(range(5))


async def test_waiting_reader_wakes_on_publish() -> None:
    bus = InProcessEventBus()
    async with bus.subscribe("ten_a") as sub:
        reader = asyncio.create_task(take(sub, 2))
        await asyncio.sleep(0.01)
        assert not reader.done()
        await bus.publish(Event(SESSION_STARTED, "ten_a", {"session_id": "ses_1"}))
        await bus.publish(turn("ten_a", 1))
        events = await reader
        assert [e.type for e in events] == [SESSION_STARTED, SESSION_TURN]


async def test_slow_subscriber_drops_oldest_without_blocking_others() -> None:
    bus = InProcessEventBus(max_pending=10)
    async with bus.subscribe("ten_a") as slow, bus.subscribe("ten_a") as fast:
        received: list[int] = []

        async def keep_up() -> None:
            async for event in fast:
                received.append(event.data["seq"])
                if len(received) == 100:
                    return

        reader = asyncio.create_task(keep_up())
        for n in range(100):
            await bus.publish(turn("ten_a", n))  # never waits for `slow`
            await asyncio.sleep(0)
        async with asyncio.timeout(2):
            await reader
        assert received == list(range(100))
        assert fast.dropped == 0
        assert slow.pending == 10 and slow.dropped == 90
        assert [e.data["seq"] for e in await take(slow, 10)] == list(range(90, 100))
        assert bus.dropped == 90
    assert bus.dropped == 90  # still counted once the subscriber is gone


async def test_publish_never_blocks_with_a_stalled_subscriber() -> None:
    bus = InProcessEventBus(max_pending=5)
    async with bus.subscribe("ten_a") as stalled:
        async with asyncio.timeout(1):
            for n in range(10_000):
                await bus.publish(turn("ten_a", n))
        assert stalled.pending == 5 and stalled.dropped == 9_995


async def test_unsubscribe_on_context_exit() -> None:
    bus = InProcessEventBus()
    async with bus.subscribe("ten_a") as sub:
        assert bus.subscriber_count() == 1
        await bus.publish(turn("ten_a", 1))
    assert bus.subscriber_count() == 0
    assert sub.ended
    await bus.publish(turn("ten_a", 2))  # goes nowhere
    assert [e.data["seq"] async for e in sub] == [1]  # drains what was buffered, then ends


async def test_reader_is_released_when_its_context_exits() -> None:
    bus = InProcessEventBus()
    collected: list[Event] = []

    async def listen() -> None:
        async with bus.subscribe("ten_a") as sub:
            async for event in sub:
                collected.append(event)

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.01)
    assert bus.subscriber_count("ten_a") == 1
    listener.cancel()
    with pytest.raises(asyncio.CancelledError):
        await listener
    assert bus.subscriber_count() == 0


async def test_close_ends_every_subscription() -> None:
    bus: EventBus = InProcessEventBus()
    async with bus.subscribe("ten_a") as a, bus.subscribe("ten_b") as b:
        await bus.publish(turn("ten_a", 1))
        readers = [asyncio.create_task(_drain(s)) for s in (a, b)]
        await asyncio.sleep(0.01)
        await bus.close()
        async with asyncio.timeout(2):
            assert [len(r) for r in await asyncio.gather(*readers)] == [1, 0]
    async with bus.subscribe("ten_a") as late:
        assert [e async for e in late] == []


async def _drain(sub: Subscription) -> list[Event]:
    return [e async for e in sub]


def test_event_is_frozen_and_json_ready() -> None:
    event = Event(SESSION_TURN, "ten_a", {"text": "hi"})
    with pytest.raises(AttributeError):
        event.type = "other"  # type: ignore[misc]
    payload = json.loads(json.dumps(event.to_dict()))
    assert payload["type"] == SESSION_TURN and payload["tenant_id"] == "ten_a"
    assert payload["data"] == {"text": "hi"} and payload["at"].startswith(str(event.at.year))


async def test_bad_arguments() -> None:
    bus = InProcessEventBus()
    with pytest.raises(ValueError):
        await bus.publish(Event(SESSION_TURN, "", {}))
    with pytest.raises(ValueError):
        async with bus.subscribe(""):
            pass
    with pytest.raises(ValueError):
        InProcessEventBus(max_pending=0)
