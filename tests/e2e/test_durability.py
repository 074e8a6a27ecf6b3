"""kill -9 during concurrent upserts and deletes: nothing acknowledged is lost,
nothing deleted comes back, and an unacknowledged batch is all-or-nothing."""

import random
import time

from workload import WRITERS_DEFAULT, Writer, check, setup_table


def test_kill9_under_concurrent_writes_loses_nothing_acknowledged(server, api):
    setup_table(api)
    model = {}
    rng = random.Random(7)
    total_acknowledged = 0
    for cycle in range(4):
        writers = [Writer(server.url, i, model, seed=cycle * 10 + i + 1) for i in range(WRITERS_DEFAULT)]
        for w in writers:
            w.start()
        time.sleep(rng.uniform(0.4, 1.2))
        server.kill9()
        for w in writers:
            w.join(timeout=15)
            assert not w.is_alive()
        total_acknowledged += sum(w.acknowledged for w in writers)
        server.start()
        check(api, writers, model)
    assert total_acknowledged > 100, "the writers should have made real progress"
    # A clean shutdown loses nothing either and exits 0.
    assert server.terminate() == 0
    server.start()
    check(api, [], model)
