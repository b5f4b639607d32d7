"""DynamoDB-only behaviour: the service's limits, its failure paths, and its configuration.

moto never throttles, never leaves ``UnprocessedItems`` and accepts oversized batches, so those
paths run against botocore's ``Stubber`` and an event hook that sees every request.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import boto3
import pytest
from botocore.exceptions import BotoCoreError
from botocore.stub import Stubber

from storage_backends import (
    GenerationStatus,
    ListQuery,
    StorageFactory,
    StorageInitializationError,
    StorageOperationError,
    StorageValidationError,
)
from storage_backends.backends.dynamodb import DynamoDBStorage, rollups

from ..factories import ago, make_item


def client_of(storage: DynamoDBStorage):
    return storage._calls.client


def sent_requests(storage: DynamoDBStorage) -> dict[str, int]:
    return {name: stats["calls"] for name, stats in storage.get_metrics().details["requests"].items()}


def spent_since(storage: DynamoDBStorage, before: dict[str, int]) -> dict[str, int]:
    """Requests sent since ``before`` (a ``sent_requests``), by operation."""
    after = sent_requests(storage)
    return {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}


#: ``storage`` (tests/storage/conftest.py) is DynamoDB in-process (moto's ``mock_aws``), on ``dynamodb_table_name``.
pytestmark = pytest.mark.backends("dynamodb-mock")


@pytest.fixture
def batch_sizes(storage) -> list[int]:
    """How many writes each BatchWriteItem request carried, seen as botocore sends it."""
    sizes: list[int] = []

    def count(params, **_):
        sizes.append(sum(len(requests) for requests in params["RequestItems"].values()))

    # before-parameter-build sees every request, stubbed ones too (Stubber answers at before-call).
    client_of(storage).meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", count)
    return sizes


# -- limits ---------------------------------------------------------------------------------

def test_no_batch_write_carries_more_than_25_writes(storage, batch_sizes):
    storage.save_many([make_item(f"g{n:03d}", created_at=ago(days=2)) for n in range(130)])
    assert storage.cleanup() == 130
    assert batch_sizes and max(batch_sizes) == 25
    assert sum(batch_sizes) == 260  # 130 puts and 130 deletes


def test_an_item_over_400_kb_is_refused_before_any_request(storage):
    storage.save(make_item("small"))
    before = sent_requests(storage)
    with pytest.raises(StorageValidationError, match=r"4\d\d,\d{3} bytes"):
        storage.save(make_item("big", script={"content": "x" * 401 * 1024}))
    with pytest.raises(StorageValidationError, match="bytes"):
        storage.save_many([make_item("ok"), make_item("big", script={"content": "x" * 401 * 1024})])
    with pytest.raises(StorageValidationError, match="bytes"):
        storage.update("small", {"script": {"content": "x" * 401 * 1024}})
    assert sent_requests(storage) == before
    assert not storage.exists("ok")


def test_an_item_just_under_the_limit_is_stored(storage):
    storage.save(make_item("big", script={"content": "x" * 390 * 1024}))
    assert len(storage.get("big").script.content) == 390 * 1024


@pytest.mark.parametrize("number, shown", [
    (10 ** 38 + 1, "100000000000000000000000000000000000001"),
    (Decimal("1.234567890123456789012345678901234567891"), "1.234567890123456789012345678901234567891"),
    (math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf"),
])
def test_numbers_dynamodb_cannot_hold_are_refused_with_the_value(storage, number, shown):
    with pytest.raises(StorageValidationError, match=shown):
        storage.save(make_item("g1", extra={"n": number}))
    assert not storage.exists("g1")


def test_floats_are_written_as_their_shortest_decimal(storage):
    storage.save(make_item("g1", extra={"tenth": 0.1, "third": 1 / 3, "big": 1e100, "tiny": 5e-120}))
    raw = client_of(storage).get_item(TableName=storage._table, Key={"generationId": {"S": "g1"}})["Item"]
    assert raw["extra"]["M"]["tenth"] == {"N": "0.1"}
    assert storage.get("g1").to_item()["extra"] == {"tenth": 0.1, "third": 1 / 3, "big": 1e100, "tiny": 5e-120}


def _as_dynamodb_returns_numbers(parsed, **_):
    """Rewrite every number of a response the way DynamoDB stores it: normalized (2.0 -> 2)."""
    if isinstance(parsed, dict):
        for key, value in parsed.items():
            if key == "N" and isinstance(value, str):
                number = Decimal(value)
                parsed[key] = str(int(number)) if number == number.to_integral_value() else str(number.normalize())
            else:
                _as_dynamodb_returns_numbers(value)
    elif isinstance(parsed, list):
        for value in parsed:
            _as_dynamodb_returns_numbers(value)


def test_whole_floats_stay_floats_though_dynamodb_normalizes_numbers(storage):
    client_of(storage).meta.events.register("after-call.dynamodb", _as_dynamodb_returns_numbers)
    values = {"two": 2.0, "big": 1e20, "mixed": [2.0, 3, {"four": 4.0, "half": 0.5}], "int": 5, "neg": -0.0}
    storage.save(make_item("g1", extra=values, clips={"clips": [{"duration": 2.0}, {"duration": 3}]}))
    raw = client_of(storage).get_item(TableName=storage._table, Key={"generationId": {"S": "g1"}})["Item"]
    assert raw["extra"]["M"]["two"] == {"N": "2"}  # what the service hands back
    for state in (storage.get("g1"), storage.list_generations().items[0]):
        got = state.to_item()
        assert got["extra"] == values and got["clips"]["clips"] == [{"duration": 2.0}, {"duration": 3}]
        assert [type(got["extra"][k]) for k in values] == [float, float, list, int, float]
        assert [type(v) for v in got["extra"]["mixed"][:2]] == [float, int]
        assert type(got["extra"]["mixed"][2]["four"]) is float
    updated = storage.update("g1", {"audio": {"duration": 7.0}, "extra": {"count": 1}})
    assert type(updated.audio.duration) is float and updated.to_item()["extra"] == {"count": 1}
    assert type(storage.get("g1").to_item()["extra"]["count"]) is int
    raw = client_of(storage).get_item(TableName=storage._table, Key={"generationId": {"S": "g1"}})["Item"]
    assert "_gennieFloats:extra" not in raw and "_gennieFloats:audio" in raw


def test_reserved_words_in_stage_maps_round_trip(storage):
    reserved = {"status": "ok", "url": "https://a/b.mp4", "duration": 3.5, "name": "n", "data": {"size": 1},
                "text": "t", "key": "k", "values": [1], "count": 2, "timestamp": "now", "language": "en"}
    storage.save(make_item("g1", audio=dict(reserved), size={"count": 1}))
    storage.update("g1", {"baseVideo": dict(reserved), "order": {"by": "x"}})
    got = storage.get("g1").to_item()
    assert got["audio"] == reserved and got["baseVideo"] == reserved
    assert got["size"] == {"count": 1} and got["order"] == {"by": "x"}


def test_index_attributes_never_show_in_the_document(storage):
    saved = storage.save(make_item("g1", prompt="Otters"))
    updated = storage.update("g1", {"initialParams": {"prompt": "Seals", "language": "FR"}})
    listed = storage.list_generations().items[0]
    for state in (saved, updated, storage.get("g1"), listed):
        assert not [key for key in state.to_item() if key.startswith("_gennie")]
    assert [s.generation_id for s in storage.list_generations(ListQuery(search="seals", language="fr")).items] == ["g1"]


def test_the_backends_own_attribute_names_are_refused(storage):
    with pytest.raises(StorageValidationError, match="reserved"):
        storage.save(make_item("g1", _gennieShard="mine"))
    storage.save(make_item("g1"))
    with pytest.raises(StorageValidationError, match="reserved"):
        storage.update("g1", {"_gennieCreated": "x"})


# -- listing cost ---------------------------------------------------------------------------

def test_a_page_reads_about_a_page_of_items_however_large_the_table(storage):
    storage.save_many([make_item(f"g{n:03d}", created_at=ago(minutes=n)) for n in range(400)],
                      preserve_timestamps=True)
    page = storage.list_generations(ListQuery(limit=20))
    assert [s.generation_id for s in page.items] == [f"g{n:03d}" for n in range(20)]
    assert storage.get_metrics().details["last_list_items_read"] <= 2 * 20
    storage.list_generations(ListQuery(limit=20, cursor=page.next_cursor))
    assert storage.get_metrics().details["last_list_items_read"] <= 2 * 20


def test_a_rare_filter_returns_short_pages_with_cursors_once_the_read_budget_is_spent(aws_mock, dynamodb_table_name):
    with DynamoDBStorage(table_name=dynamodb_table_name, list_read_budget="30") as storage:
        items = [make_item(f"g{n:03d}", created_at=ago(minutes=n), language="fr" if n % 25 == 0 else "en")
                 for n in range(100)]
        storage.save_many(items, preserve_timestamps=True)
        found, query, pages = [], ListQuery(language="fr", limit=10), 0
        while True:
            page = storage.list_generations(query)
            pages += 1
            assert storage.get_metrics().details["last_list_items_read"] <= 30
            found += [s.generation_id for s in page.items]
            if page.next_cursor is None:
                break
            query = query.model_copy(update={"cursor": page.next_cursor})
        assert found == ["g000", "g025", "g050", "g075"]
        assert pages >= 4


# -- failure paths (Stubber) ----------------------------------------------------------------

def _keys(*ids: str) -> list[dict]:
    return [{"generationId": {"S": i}} for i in ids]


def test_unprocessed_deletes_are_sent_again(storage):
    storage.exists("warm-up")  # the table exists; from here on every request is stubbed
    old = [f"old{n}" for n in range(30)]
    deletes = [{"DeleteRequest": {"Key": key}} for key in _keys(*old)]
    with Stubber(client_of(storage)) as stub:
        stub.add_response("scan", {"Items": _keys(*old), "Count": 30, "ScannedCount": 30})
        stub.add_response("batch_write_item", {"UnprocessedItems": {storage._table: deletes[20:25]}})
        stub.add_response("batch_write_item", {"UnprocessedItems": {storage._table: deletes[22:23]}})
        stub.add_response("batch_write_item", {"UnprocessedItems": {}})
        stub.add_response("batch_write_item", {"UnprocessedItems": {}})
        assert storage.cleanup() == 30
        stub.assert_no_pending_responses()


def test_cleanup_fills_every_batch_across_scan_pages(storage, batch_sizes):
    storage.exists("warm-up")
    first, second = [f"a{n}" for n in range(30)], [f"b{n}" for n in range(30)]
    with Stubber(client_of(storage)) as stub:
        # Keys stream from the scan into the batches: a page is asked for when a batch needs more.
        stub.add_response("scan", {"Items": _keys(*first), "LastEvaluatedKey": _keys("a29")[0]})
        stub.add_response("batch_write_item", {"UnprocessedItems": {}})
        stub.add_response("scan", {"Items": _keys(*second)})
        stub.add_response("batch_write_item", {"UnprocessedItems": {}})
        stub.add_response("batch_write_item", {"UnprocessedItems": {}})
        assert storage.cleanup() == 60
        stub.assert_no_pending_responses()
    assert batch_sizes == [25, 25, 10]


def test_deletes_still_unprocessed_at_the_deadline_are_named(aws_mock, dynamodb_table_name):
    with DynamoDBStorage(table_name=dynamodb_table_name, batch_deadline_seconds="0.3") as storage:
        storage.exists("warm-up")
        stuck = [{"DeleteRequest": {"Key": key}} for key in _keys("stuck-1", "stuck-2")]
        with Stubber(client_of(storage)) as stub:
            stub.add_response("scan", {"Items": _keys("stuck-1", "stuck-2"), "Count": 2, "ScannedCount": 2})
            for _ in range(30):
                stub.add_response("batch_write_item", {"UnprocessedItems": {storage._table: stuck}})
            started = time.monotonic()
            with pytest.raises(StorageOperationError, match="'stuck-1', 'stuck-2'") as info:
                storage.cleanup()
        assert info.value.code == "UnprocessedItems"
        assert time.monotonic() - started < 2


def test_unprocessed_puts_of_save_many_are_sent_again(storage, batch_sizes):
    storage.exists("warm-up")
    items = [make_item(f"g{n}", created_at=ago(days=1), updated_at=ago(days=1)) for n in range(3)]
    left = [{"PutRequest": {"Item": storage._encode(item)}} for item in items[1:]]
    with Stubber(client_of(storage)) as stub:
        stub.add_response("batch_get_item", {"Responses": {storage._table: []}})  # what they counted as before
        stub.add_response("batch_write_item", {"UnprocessedItems": {storage._table: left}})
        stub.add_response("batch_write_item", {"UnprocessedItems": {}},
                          expected_params={"RequestItems": {storage._table: left}, "ReturnConsumedCapacity": "TOTAL"})
        stub.add_response("update_item", {})  # the totals: in progress +3
        stub.add_response("update_item", {})  # their hour's sums
        assert storage.save_many(items, preserve_timestamps=True) == 3
        stub.assert_no_pending_responses()
    assert batch_sizes == [3, 2]


def test_throttling_after_botocores_retries_is_an_operation_error_with_its_code(storage):
    storage.exists("warm-up")
    with Stubber(client_of(storage)) as stub:
        stub.add_client_error("get_item", service_error_code="ProvisionedThroughputExceededException",
                              http_status_code=400)
        with pytest.raises(StorageOperationError) as info:
            storage.get("g1")
    assert info.value.code == "ProvisionedThroughputExceededException"
    assert isinstance(info.value.__cause__, Exception)
    metrics = storage.get_metrics()
    assert metrics.details["throttles"] == 1
    assert metrics.operations["get"].errors == 1


def test_a_server_error_page_becomes_one_short_line(storage):
    """A failing server or proxy answers with an HTML page, not DynamoDB's JSON: the error stays
    one line of a log (the page's text, cut), not the page."""
    storage.exists("warm-up")
    page = "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n" + "<p>overloaded</p>\n" * 100
    with Stubber(client_of(storage)) as stub:
        stub.add_client_error("get_item", service_error_code="500", service_message=page, http_status_code=500)
        with pytest.raises(StorageOperationError) as info:
            storage.get("g1")
    message = str(info.value)
    assert "\n" not in message and len(message) < 400
    assert "500 Internal Server Error</title> <p>overloaded</p>" in message and message.endswith("…")


def test_retries_reported_by_botocore_are_counted(storage):
    storage.exists("warm-up")
    with Stubber(client_of(storage)) as stub:
        stub.add_response("get_item", {"ResponseMetadata": {"RetryAttempts": 2}})
        stub.add_response("get_item", {"Item": {"generationId": {"S": "g1"}}, "ResponseMetadata": {"RetryAttempts": 1}})
        assert not storage.exists("g1")
        assert storage.get("g1").generation_id == "g1"
    assert storage.get_metrics().details["retries"] == 3


@pytest.mark.parametrize("code", ["AccessDeniedException", "UnrecognizedClientException", "ResourceNotFoundException"])
def test_aws_errors_on_first_use_are_initialization_errors_with_the_code(aws_mock, dynamodb_table_name, code):
    storage = DynamoDBStorage(table_name=dynamodb_table_name, create_table=False)
    with Stubber(client_of(storage)) as stub:
        stub.add_client_error("describe_table", service_error_code=code, http_status_code=400)
        with pytest.raises(StorageInitializationError, match=code):
            storage.get("g1")


def test_a_table_with_another_key_is_refused_naming_it(aws_mock, dynamodb_table_name):
    import boto3

    boto3.client("dynamodb", region_name="us-east-1").create_table(
        TableName=dynamodb_table_name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk")],
    )
    with pytest.raises(StorageInitializationError, match=rf"{dynamodb_table_name}.*pk \(HASH\), sk \(RANGE\)"):
        DynamoDBStorage(table_name=dynamodb_table_name).get("g1")


def test_a_missing_table_is_created_only_when_allowed(aws_mock, dynamodb_table_name):
    with pytest.raises(StorageInitializationError, match="does not exist"):
        DynamoDBStorage(table_name=dynamodb_table_name, create_table="false").save(make_item("g1"))
    storage = DynamoDBStorage(table_name=dynamodb_table_name)
    storage.save(make_item("g1"))
    table = client_of(storage).describe_table(TableName=dynamodb_table_name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert sorted(index["IndexName"] for index in table["GlobalSecondaryIndexes"]) == [
        "gennie-created-index", "gennie-failure-index", "gennie-phase-index", "gennie-status-index"]
    assert DynamoDBStorage(table_name=dynamodb_table_name, create_table=False).get("g1").generation_id == "g1"


# -- health ---------------------------------------------------------------------------------

def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_is_healthy_is_false_within_3_seconds_when_the_endpoint_is_down():
    storage = StorageFactory.from_url(f"dynamodb://t-down?endpoint=http://127.0.0.1:{_closed_port()}")
    started = time.monotonic()
    assert storage.is_healthy() is False
    assert time.monotonic() - started < 3


def test_an_endpoint_that_goes_down_gives_storage_errors_not_botocore_ones(dynamodb_table_name):
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    storage = DynamoDBStorage(table_name=dynamodb_table_name, endpoint=f"http://{host}:{port}", max_attempts=1)
    storage.save(make_item("g1"))
    server.stop()
    with pytest.raises(StorageOperationError, match="Could not connect") as info:
        storage.get("g1")
    assert isinstance(info.value.__cause__, BotoCoreError)
    with pytest.raises(StorageOperationError):
        storage.get_metrics()  # its COUNT scan fails the same way
    down = DynamoDBStorage(table_name=dynamodb_table_name, endpoint=f"http://{host}:{port}", max_attempts=1)
    with pytest.raises(StorageInitializationError, match="Could not connect"):
        down.get("g1")


def test_is_healthy_over_http(moto_server, dynamodb_table_name):
    storage = StorageFactory.from_url(f"dynamodb://{dynamodb_table_name}?endpoint={moto_server}")
    assert storage.is_healthy() is True
    assert storage.describe()["table"] == dynamodb_table_name


# -- metrics and counts ---------------------------------------------------------------------

def test_the_total_is_cached_and_says_how_fresh_it_is_while_counts_by_status_are_not(aws_mock, dynamodb_table_name):
    reader = DynamoDBStorage(table_name=dynamodb_table_name, count_cache_seconds="60")
    writer = DynamoDBStorage(table_name=dynamodb_table_name)
    writer.save(make_item("g1"))
    assert reader.get_metrics().active_generations == 1
    assert sum(reader.count_by_status().values()) == 1
    writer.save(make_item("g2"))  # another process: the reader's cache does not know
    metrics = reader.get_metrics()
    assert metrics.active_generations == 1
    # The dashboard keeps counts by status itself; a second cache under it would make its age a lie.
    assert sum(reader.count_by_status().values()) == 2
    assert set(metrics.details["count_ages_seconds"]) == {"generations"}
    assert metrics.details["count_cache_seconds"] == 60
    reader.save(make_item("g3"))  # its own write drops the cache
    assert reader.get_metrics().active_generations == 3
    fresh = DynamoDBStorage(table_name=dynamodb_table_name, count_cache_seconds=0)
    assert fresh.get_metrics().active_generations == 3
    writer.delete("g1")
    assert fresh.get_metrics().active_generations == 2


def test_metrics_time_every_request(storage):
    storage.save(make_item("g1"))
    storage.get("g1")
    requests = storage.get_metrics().details["requests"]
    assert requests["get_item"]["calls"] >= 2  # the save read createdAt, then the get
    assert requests["put_item"]["calls"] == 1 and requests["put_item"]["total_seconds"] > 0


# -- configuration --------------------------------------------------------------------------

def test_url_options_are_converted_from_strings(moto_server, dynamodb_table_name):
    storage = StorageFactory.from_url(
        f"dynamodb://{dynamodb_table_name}?region=eu-west-1&endpoint={moto_server}&max_attempts=7"
        "&connect_timeout=2.5&read_timeout=4&create_table=yes&count_cache_seconds=5"
    )
    config = client_of(storage).meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 7}
    assert (config.connect_timeout, config.read_timeout) == (2.5, 4.0)
    assert client_of(storage).meta.region_name == "eu-west-1"
    storage.save(make_item("g1"))
    assert storage.get("g1").generation_id == "g1"


@pytest.mark.parametrize("options, named", [
    ({"max_attempts": "many"}, "max_attempts"), ({"max_attempts": "0"}, "max_attempts"),
    ({"max_attempts": 2.5}, "max_attempts"), ({"connect_timeout": "-1"}, "connect_timeout"),
    ({"create_table": "perhaps"}, "create_table"), ({"table_name": "a b"}, "table_name"),
    ({"endpoint": "localhost:8000"}, "endpoint"), ({"access_key_id": "AKIA"}, "secret_access_key"),
    ({"count_cache_seconds": "nan"}, "count_cache_seconds"), ({"tableName": 5}, "table_name"),
])
def test_bad_options_are_refused_by_name(options, named):
    with pytest.raises(StorageInitializationError, match=named):
        StorageFactory.create_storage({"type": "dynamodb", "options": options})


def test_from_env_reads_the_seeds_variables(moto_server, dynamodb_table_name):
    storage = StorageFactory.from_env({
        "GENNIE_STORAGE_TYPE": "dynamodb", "DYNAMODB_TABLE_NAME": dynamodb_table_name,
        "AWS_REGION": "us-west-2", "DYNAMODB_ENDPOINT": moto_server,
        "AWS_ACCESS_KEY_ID": "env-key", "AWS_SECRET_ACCESS_KEY": "env-secret",
    })
    assert storage.describe() | {"create_table": True} == {
        "table": dynamodb_table_name, "region": "us-west-2", "endpoint": moto_server,
        "index": "gennie-created-index", "create_table": True, "billing_mode": "PAY_PER_REQUEST", "ttl_days": None,
        "stream_indexer": False,
    }
    assert client_of(storage)._request_signer._credentials.access_key == "env-key"
    storage.save(make_item("g1"))
    assert storage.exists("g1")


def test_the_stream_indexer_option_comes_from_the_url_or_the_environment(dynamodb_table_name):
    from_env = StorageFactory.from_env({"GENNIE_STORAGE_TYPE": "dynamodb", "DYNAMODB_TABLE_NAME": dynamodb_table_name,
                                        "DYNAMODB_STREAM_INDEXER": "true"})
    assert from_env.describe()["stream_indexer"] is True
    assert StorageFactory.from_url(f"dynamodb://{dynamodb_table_name}?stream_indexer=1").describe()["stream_indexer"]
    with pytest.raises(StorageInitializationError, match="stream_indexer"):
        StorageFactory.from_url(f"dynamodb://{dynamodb_table_name}?stream_indexer=maybe")


def test_explicit_credentials_win_over_the_environment():
    storage = DynamoDBStorage(access_key_id="explicit", secret_access_key="s")
    assert client_of(storage)._request_signer._credentials.access_key == "explicit"
    assert DynamoDBStorage().describe() | {"endpoint": None} == {
        "table": "video-gennie-generations", "region": "us-east-1", "endpoint": None,
        "index": "gennie-created-index", "create_table": True, "billing_mode": "PAY_PER_REQUEST", "ttl_days": None,
        "stream_indexer": False,
    }


# -- listing agrees with the reference backend ----------------------------------------------

def _walk(storage, query: ListQuery) -> tuple[list[list[str]], list[list[str]]]:
    """Every page forward, then every page back again through prev cursors."""
    forward, page = [], storage.list_generations(query)
    forward.append([s.generation_id for s in page.items])
    while page.next_cursor:
        page = storage.list_generations(query.model_copy(update={"cursor": page.next_cursor}))
        forward.append([s.generation_id for s in page.items])
    backward = [forward[-1]]
    while page.prev_cursor:
        page = storage.list_generations(query.model_copy(update={"cursor": page.prev_cursor}))
        backward.append([s.generation_id for s in page.items])
    return forward, backward[::-1]


@pytest.mark.parametrize("newest_first", [True, False])
@pytest.mark.parametrize("filters", [
    {}, {"created_after": 30}, {"created_before": 10}, {"created_after": 35, "created_before": 12},
    {"language": "FR"}, {"search": "SEAL", "created_after": 40},
])
def test_pages_match_the_memory_backend_both_ways(storage, newest_first, filters):
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    items = [make_item(f"g{n:02d}", created_at=ago(minutes=n // 2), language="fr" if n % 4 else "en",
                       prompt="Seals" if n % 3 else "Otters") for n in range(90)]
    items.append({"generationId": "no-time", "initialParams": {"prompt": "seal", "language": "fr"}})
    reference = StorageFactory.create_storage({"type": "memory"})
    for backend in (storage, reference):
        backend.save_many(items, preserve_timestamps=True)
    times = {k: now - timedelta(minutes=v, seconds=30) for k, v in filters.items() if k.startswith("created")}
    query = ListQuery(limit=7, newest_first=newest_first, **{**filters, **times})
    pages = _walk(storage, query)
    assert pages == _walk(reference, query)
    assert len(pages[0]) > 2  # several pages each way


def test_region_comes_from_the_option_else_the_environment_else_us_east_1(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert StorageFactory.from_url("dynamodb://t-region").describe()["region"] == "ap-south-1"
    assert StorageFactory.from_url("dynamodb://t-region?region=eu-north-1").describe()["region"] == "eu-north-1"
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    storage = StorageFactory.from_url("dynamodb://t-region")
    assert storage.describe()["region"] == "us-east-1"
    assert client_of(storage).meta.region_name == "us-east-1"


def test_create_false_refuses_a_missing_table_and_creates_none(aws_mock, dynamodb_table_name):
    storage = StorageFactory.from_url(f"dynamodb://{dynamodb_table_name}?region=us-east-1", create=False)
    with pytest.raises(StorageInitializationError, match=rf"{dynamodb_table_name}.*does not exist"):
        storage.list_generations()
    assert dynamodb_table_name not in boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"]


def test_create_false_still_completes_an_existing_table_with_the_listing_index(aws_mock, dynamodb_table_name):
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(  # laid out as the seed describes: no listing index
        TableName=dynamodb_table_name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "generationId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "generationId", "AttributeType": "S"}],
    )
    storage = DynamoDBStorage(table_name=dynamodb_table_name, create=False)
    assert storage.list_generations().items == []
    indexes = client.describe_table(TableName=dynamodb_table_name)["Table"]["GlobalSecondaryIndexes"]
    assert sorted(index["IndexName"] for index in indexes) == [
        "gennie-created-index", "gennie-failure-index", "gennie-phase-index", "gennie-status-index"]


def test_identity_is_the_table_and_where_it_is(aws_mock):
    def identity(**options):
        return DynamoDBStorage(table_name="gennie-t", region="eu-west-1", **options).identity()

    assert identity() == identity(max_attempts=2, read_timeout=9)
    assert identity(endpoint="http://127.0.0.1:8000/") == identity(endpoint="HTTP://127.0.0.1:8000")
    assert identity() != identity(endpoint="http://127.0.0.1:8000")
    assert identity() != DynamoDBStorage(table_name="gennie-t", region="us-east-1").identity()


def test_every_data_request_asks_for_its_consumed_capacity_and_metrics_add_it_up(storage):
    asked: list[str] = []
    client_of(storage).meta.events.register(
        "before-parameter-build.dynamodb", lambda params, model, **_: asked.append(
            f"{model.name}:{params.get('ReturnConsumedCapacity')}"))
    storage.save(make_item("g1"))
    storage.get("g1")
    storage.list_generations()
    storage.save_many([make_item(f"b{n}") for n in range(30)])
    storage.delete("g1")

    data_requests = [entry for entry in asked if not entry.startswith(("DescribeTable", "CreateTable"))]
    assert data_requests and all(entry.endswith(":TOTAL") for entry in data_requests)
    details = storage.get_metrics().details
    for operation in ("put_item", "get_item", "query", "batch_write_item", "delete_item"):
        assert details["requests"][operation]["capacity_units"] > 0, operation
    assert details["write_capacity_units"] >= sum(
        details["requests"][name]["capacity_units"] for name in ("put_item", "batch_write_item", "delete_item"))
    assert details["read_capacity_units"] >= details["requests"]["get_item"]["capacity_units"]


# -- billing modes and TTL --------------------------------------------------------------------

def test_billing_mode_provisioned_creates_a_provisioned_table_and_index(aws_mock, dynamodb_table_name):
    storage = StorageFactory.from_url(
        f"dynamodb://{dynamodb_table_name}?region=us-east-1&billing_mode=provisioned&read_capacity=7&write_capacity=3")
    storage.save(make_item("g1"))
    table = client_of(storage).describe_table(TableName=dynamodb_table_name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert (table["ProvisionedThroughput"]["ReadCapacityUnits"], table["ProvisionedThroughput"]["WriteCapacityUnits"]) \
        == (7, 3)
    for index in table["GlobalSecondaryIndexes"]:
        assert (index["ProvisionedThroughput"]["ReadCapacityUnits"],
                index["ProvisionedThroughput"]["WriteCapacityUnits"]) == (7, 3)
    assert storage.describe()["billing_mode"] == "PROVISIONED"


def test_a_provisioned_seed_table_is_adopted_with_index_throughput_matching_the_table(aws_mock, dynamodb_table_name):
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName=dynamodb_table_name, BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 11, "WriteCapacityUnits": 4},
        KeySchema=[{"AttributeName": "generationId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "generationId", "AttributeType": "S"}],
    )
    storage = DynamoDBStorage(table_name=dynamodb_table_name)
    sent: list[dict] = []  # moto would take an index without throughput; the real service refuses it
    client_of(storage).meta.events.register(
        "before-parameter-build.dynamodb.UpdateTable", lambda params, **_: sent.append(params))
    storage.save(make_item("g1"))
    assert len(sent) == 4  # the listing, status, failure and phase indexes: one at a time
    for update in sent:
        created = update["GlobalSecondaryIndexUpdates"][0]["Create"]
        assert created["ProvisionedThroughput"] == {"ReadCapacityUnits": 11, "WriteCapacityUnits": 4}
    assert [state.generation_id for state in storage.list_generations().items] == ["g1"]


def test_a_bad_billing_mode_is_refused_by_name(aws_mock):
    with pytest.raises(StorageInitializationError, match="billing_mode"):
        DynamoDBStorage(table_name="gennie-t", billing_mode="on-demand")


def test_ttl_days_enables_ttl_and_writes_the_expiry_from_created_at(aws_mock, dynamodb_table_name):
    storage = StorageFactory.from_url(f"dynamodb://{dynamodb_table_name}?region=us-east-1&ttl_days=7")
    created = "2026-11-01T12:00:00.000Z"
    storage.save_many([make_item("old", created_at=created), make_item("new")], preserve_timestamps=True)
    storage.update("old", {"audio": {"url": "https://cdn.example.com/a.mp3"}})
    client = client_of(storage)
    ttl = client.describe_time_to_live(TableName=dynamodb_table_name)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "_gennieExpires")
    raw = client.get_item(TableName=dynamodb_table_name, Key={"generationId": {"S": "old"}})["Item"]
    expected = int(datetime(2026, 11, 1, 12, tzinfo=timezone.utc).timestamp()) + 7 * 86400
    assert int(raw["_gennieExpires"]["N"]) == expected  # kept through the update
    assert "_gennieExpires" not in storage.get("old").to_item()
    assert storage.cleanup(timedelta(days=3)) == 1  # cleanup removes what its cut-off says, TTL or not
    assert storage.exists("new") and not storage.exists("old")


def test_an_exact_id_search_costs_one_get_item_and_at_most_one_query(storage):
    # Most items do not match, so a full page of substring matches would take several Queries.
    storage.save_many([make_item(f"gen-{n}") for n in range(30)] + [make_item(f"other-{n}") for n in range(600)])
    storage.list_summaries()  # the table is ready
    before = sent_requests(storage)
    page = storage.list_summaries(ListQuery(search="gen-2", limit=20))
    spent = spent_since(storage, before)
    assert page.items[0].generation_id == "gen-2"
    assert spent == {"get_item": 1, "query": 1}
    # The substring matches that one Query did not reach follow on later pages, none twice.
    listed = [item.generation_id for item in page.items]
    while page.next_cursor:
        page = storage.list_summaries(ListQuery(search="gen-2", limit=20, cursor=page.next_cursor))
        listed += [item.generation_id for item in page.items]
    assert sorted(listed) == sorted(["gen-2", *(f"gen-2{n}" for n in range(10))])


def test_documents_of_a_list_page_cost_one_batch_get_per_100(storage):
    storage.save_many([make_item(f"gen-{n:03d}") for n in range(150)])
    storage.list_summaries()
    before = sent_requests(storage)
    assert len(storage.list_generations(ListQuery(limit=120)).items) == 120
    assert spent_since(storage, before) == {"query": 1, "batch_get_item": 2}
    before = sent_requests(storage)
    assert len(storage.list_summaries(ListQuery(limit=120)).items) == 120
    assert spent_since(storage, before) == {"query": 1}  # rows from the index alone


def test_a_phase_index_still_being_built_neither_blocks_use_nor_breaks_counts(storage):
    storage.save_many([make_item("g1"), make_item("g2")])
    table = {  # an older table's new index is CREATING, for hours on a large table
        "TableName": storage._table, "TableStatus": "ACTIVE",
        "KeySchema": [{"AttributeName": "generationId", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [{"IndexName": "gennie-created-index", "IndexStatus": "ACTIVE"},
                                   {"IndexName": "gennie-status-index", "IndexStatus": "ACTIVE"},
                                   {"IndexName": "gennie-failure-index", "IndexStatus": "ACTIVE"},
                                   {"IndexName": "gennie-phase-index", "IndexStatus": "CREATING"}],
    }
    fresh = DynamoDBStorage(table_name=storage._table)
    with Stubber(client_of(fresh)) as stub:
        stub.add_response("describe_table", {"Table": table})  # checked: every index is there
        stub.add_response("describe_table", {"Table": table})  # waited for: the listing indexes alone
        fresh._ensure_ready()
        stub.assert_no_pending_responses()
    with Stubber(client_of(fresh)) as stub:
        keys = [{"generationId": {"S": f"_gennie#total#{n}"}} for n in range(8)]
        shard = {"generationId": {"S": "_gennie#total#3"}, "p#in_progress": {"N": "2"}}
        stub.add_response("batch_get_item", {"Responses": {storage._table: [shard]}},
                          expected_params={"RequestItems": {storage._table: {"Keys": keys, "ConsistentRead": True}},
                                           "ReturnConsumedCapacity": "TOTAL"})
        stub.add_client_error("query", service_error_code="ValidationException",
                              service_message="Cannot read from backfilling global secondary index: gennie-phase-index")
        counts = fresh.count_by_status()
    assert counts[GenerationStatus.IN_PROGRESS] == 2 and counts[GenerationStatus.STALLED] == 0


def test_delete_many_sends_batches_not_three_requests_a_generation(storage):
    ids = [f"gen-{n:03d}" for n in range(150)]
    storage.save_many([make_item(generation_id) for generation_id in ids])  # all created this hour
    before = sent_requests(storage)
    assert storage.delete_many([*ids, "never-saved"]) == ids
    spent = spent_since(storage, before)
    # 151 ids read 100 at a time (and one read of the totals: get_metrics' own, their cache cleared
    # by the deletes), 150 deletes 25 at a time, one update of the totals and one of this hour's sums.
    assert spent == {"batch_get_item": 2 + 1, "batch_write_item": 6, "update_item": 2}
    assert storage.count_by_status()[GenerationStatus.IN_PROGRESS] == 0


def test_the_rollups_items_are_no_generation_to_delete(storage):
    storage.save(make_item("g1"))
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(storage.describe()["table"])
    rollup_ids = [item["generationId"] for item in table.scan()["Items"] if item["generationId"].startswith("_gennie#")]
    assert rollup_ids
    assert storage.delete(rollup_ids[0]) is False
    assert storage.delete_many([*rollup_ids, "g1"]) == ["g1"]
    left = {item["generationId"] for item in table.scan()["Items"]}
    assert set(rollup_ids) <= left and all(name.startswith("_gennie#") for name in left)
    assert storage.get_metrics().active_generations == 0


def test_a_bulk_load_applies_the_rollups_once_on_leaving(storage, monkeypatch):
    monkeypatch.setattr(rollups.Roller, "FLUSH_SECONDS", 3600.0)
    before = sent_requests(storage)
    with storage.bulk_load():
        for batch in range(3):
            storage.save_many([make_item(f"gen-{batch}-{n}") for n in range(50)])  # all created this hour
        assert "update_item" not in spent_since(storage, before)
    # Leaving applies the three batches' rollups: one update of the totals, one of this hour's sums.
    assert spent_since(storage, before)["update_item"] == 2
    assert storage.count_by_status()[GenerationStatus.IN_PROGRESS] == 150


def test_a_bulk_load_brings_the_rollups_up_to_date_even_when_it_fails(storage):
    with pytest.raises(RuntimeError), storage.bulk_load():
        storage.save_many([make_item(f"gen-{n}") for n in range(10)])
        raise RuntimeError("the caller failed")
    assert storage.count_by_status()[GenerationStatus.IN_PROGRESS] == 10


def test_a_long_bulk_load_applies_what_it_deferred_every_flush_interval(storage, monkeypatch):
    monkeypatch.setattr(rollups.Roller, "FLUSH_SECONDS", 0.0)
    with storage.bulk_load():
        storage.save_many([make_item(f"gen-{n}") for n in range(10)])
        assert storage.get_metrics().active_generations == 10


def test_a_rollup_with_more_attributes_than_one_update_holds_is_split(storage):
    """DynamoDB refuses update expressions over 4 KB: 250 moving attributes take three updates."""
    change = rollups.Changes()
    for index in range(250):
        change.deltas.setdefault(rollups.hour_name("2026-11-20T10"), {})[f"d#script#{index}"] = 1
    before = sent_requests(storage)
    rollups.apply(storage._calls, storage.describe()["table"], change)
    assert spent_since(storage, before) == {"update_item": 3}
    sums = rollups.read_hours(storage._calls, storage.describe()["table"], ["2026-11-20T10"], deadline_seconds=5)
    assert sums.durations["script"] == dict.fromkeys(range(250), 1)


def test_many_rollup_updates_are_sent_several_at_once(storage, monkeypatch):
    """A bulk load's flush moves hundreds of hours: their updates do not wait on one another
    (four hours' updates pass a barrier that opens only when four are in flight together)."""
    change = rollups.Changes()
    for hour in range(4):
        change.deltas.setdefault(rollups.hour_name(f"2026-11-20T{hour:02d}"), {})["p#completed"] = 1
    storage.list_summaries()  # the table
    together = threading.Barrier(4, timeout=10)
    real_call = storage._calls.call

    def call(operation, **params):
        if operation == "update_item":
            together.wait()  # BrokenBarrierError unless four are sent at once
        return real_call(operation, **params)

    monkeypatch.setattr(storage._calls, "call", call)
    rollups.apply(storage._calls, storage.describe()["table"], change)
    hours = [f"2026-11-20T{hour:02d}" for hour in range(4)]
    sums = rollups.read_hours(storage._calls, storage.describe()["table"], hours, deadline_seconds=5)
    assert {hour: phases.get("completed") for hour, phases in sums.phases.items()} == dict.fromkeys(hours, 1)
