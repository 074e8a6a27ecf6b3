"""kill -9 during concurrent upserts and deletes: nothing acknowledged is lost,
nothing deleted comes back, and an unacknowledged batch is all-or-nothing."""

import random

import pytest

from workload import WRITERS_DEFAULT, Writer, check, setup_table, wait_for_acknowledged


@pytest.mark.parametrize("shards", [1, 4], ids=["1shard", "4shards"])
def test_kill9_under_concurrent_writes_loses_nothing_acknowledged(server, api, shards):
    setup_table(api, shards=shards)
    model = {}
    rng = random.Random(7)
    for cycle in range(4):
        writers = [Writer(server.url, i, model, seed=cycle * 10 + i + 1) for i in range(WRITERS_DEFAULT)]
        for w in writers:
            w.start()
        # The kill lands after a (seeded) amount of progress, however fast
        # or slow this machine is: every writer has had some batches acknowledged.
        wait_for_acknowledged(writers, each=rng.randint(5, 30))
        server.kill9()
        for w in writers:
            w.join(timeout=15)
            assert not w.is_alive()
        server.start()
        check(api, writers, model, shards=shards)
    # A clean shutdown loses nothing either and exits 0.
    assert server.terminate() == 0
    server.start()
    check(api, [], model, shards=shards)
