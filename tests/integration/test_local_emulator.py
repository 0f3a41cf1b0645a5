"""The local stack's AWS emulator keeps its state across restarts (services/local/emulator.py + snapshots.py)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import pytest

from core import aws
from core.dynamo import Table
from tests.fixtures import processes
from tests.fixtures.eventually import eventually

AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2/gpu/recommended/image_id"


@contextlib.contextmanager
def emulator(snapshot: Path, log: Path, monkeypatch: pytest.MonkeyPatch, interval: float = 0):
    """The emulator process on a free port, every core.aws client pointed at it; stopped with SIGTERM (as the
    local stack stops it, which saves the snapshot)."""
    port = processes.free_port()
    endpoint = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "services.local.emulator", "--port", str(port), "--snapshot", str(snapshot),
            "--interval", str(interval)]
    with processes.server(args, f"{endpoint}/moto-api/", log=log, timeout=60) as proc:
        with monkeypatch.context() as m:
            m.setenv("LISA_AWS_ENDPOINT_URL", endpoint)
            m.setenv("AWS_ACCESS_KEY_ID", "testing")
            m.setenv("AWS_SECRET_ACCESS_KEY", "testing")
            m.setenv("LISA_REGION", "us-east-1")
            aws.reset()
            try:
                yield proc
            finally:
                aws.reset()


def _populate() -> dict[str, str]:
    """One resource in each service the platform and the model stacks use; what identifies each."""
    ddb = aws.client("dynamodb")
    ddb.create_table(TableName="kept", AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    Table("kept").put({"k": "one", "v": "kept value"})
    aws.client("s3").create_bucket(Bucket="kept-bucket")
    aws.client("s3").put_object(Bucket="kept-bucket", Key="doc.txt", Body=b"kept bytes")
    secret_arn = aws.client("secretsmanager").create_secret(Name="kept/secret", SecretString="s3cret")["ARN"]
    idp = aws.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="kept-pool")["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="web")["UserPoolClient"]["ClientId"]
    from services.local.emulated_aws import ensure_user

    ensure_user(pool, "alice", "Alice-Passw0rd!")
    ecs = aws.client("ecs")
    ecs.create_cluster(clusterName="kept-cluster")
    ecs.register_task_definition(family="kept", containerDefinitions=[{"name": "c", "image": "x", "memory": 512}])
    service_arn = ecs.create_service(cluster="kept-cluster", serviceName="kept-svc", taskDefinition="kept",
                                     desiredCount=1)["service"]["serviceArn"]
    ami = aws.client("ssm").get_parameter(Name=AMI_PARAMETER)["Parameter"]["Value"]  # SSM's backend holds lambdas
    return {"secret": secret_arn, "pool": pool, "client": client, "service": service_arn, "ami": ami}


def test_state_survives_a_restart(tmp_path: Path, test_output: Path, monkeypatch: pytest.MonkeyPatch):
    snapshot = tmp_path / "snapshot.pickle"
    log = test_output / "local-emulator.log"
    with emulator(snapshot, log, monkeypatch):
        made = _populate()
    with emulator(snapshot, log, monkeypatch):
        item = Table("kept").get({"k": "one"})
        body = aws.client("s3").get_object(Bucket="kept-bucket", Key="doc.txt")["Body"].read()
        secret = aws.client("secretsmanager").get_secret_value(SecretId=made["secret"])["SecretString"]
        login = aws.client("cognito-idp").admin_initiate_auth(
            UserPoolId=made["pool"], ClientId=made["client"], AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "alice", "PASSWORD": "Alice-Passw0rd!"})
        service = aws.client("ecs").describe_services(cluster="kept-cluster", services=["kept-svc"])["services"][0]
    assert (item["v"], body, secret) == ("kept value", b"kept bytes", "s3cret")
    assert login["AuthenticationResult"]["IdToken"]
    assert service["serviceArn"] == made["service"] and service["desiredCount"] == 1


def test_unreadable_snapshot_is_set_aside_and_the_emulator_starts_empty(tmp_path: Path, test_output: Path,
                                                                      monkeypatch: pytest.MonkeyPatch):
    snapshot = tmp_path / "snapshot.pickle"
    snapshot.write_bytes(b"not a pickle")
    with emulator(snapshot, test_output / "local-emulator.log", monkeypatch):
        tables = aws.client("dynamodb").list_tables()["TableNames"]
    assert tables == [] and [p.read_bytes() for p in tmp_path.glob("snapshot.pickle.unreadable-*")] == [b"not a pickle"]


def test_port_in_use_is_a_one_line_error(tmp_path: Path):
    with processes.moto_server() as endpoint:
        port = endpoint.rsplit(":", 1)[1]
        result = subprocess.run([sys.executable, "-m", "services.local.emulator", "--port", port], cwd=processes.REPO,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == f"cannot listen on 127.0.0.1:{port}: Address already in use"


def test_a_change_is_saved_while_running_once_changes_stop(tmp_path: Path, test_output: Path,
                                                           monkeypatch: pytest.MonkeyPatch):
    snapshot = tmp_path / "snapshot.pickle"
    with emulator(snapshot, test_output / "local-emulator.log", monkeypatch, interval=30):
        aws.client("s3").create_bucket(Bucket="saved-without-a-stop")
        eventually(snapshot.exists, 20, "the snapshot saved while the emulator runs", ignore=())


@pytest.mark.parametrize("environ, changes", [
    ({"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.GetItem"}, False),
    ({"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem"}, True),
    ({"REQUEST_METHOD": "POST", "QUERY_STRING": "Action=DescribeVpcs"}, False),
    ({"REQUEST_METHOD": "PUT", "PATH_INFO": "/bucket/key"}, True),
    ({"REQUEST_METHOD": "GET", "PATH_INFO": "/bucket/key"}, False),
])
def test_only_requests_that_may_change_state_count(environ, changes):
    from services.local.emulator import changes_state

    assert changes_state({"PATH_INFO": "/", **environ}) is changes


def test_a_form_encoded_action_is_read_and_the_body_kept_for_the_app():
    import io

    from services.local.emulator import changes_state

    body = b"Action=CreateVpc&CidrBlock=10.0.0.0%2F16"
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "CONTENT_TYPE": "application/x-www-form-urlencoded",
               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    assert changes_state(environ) is True and environ["wsgi.input"].read() == body


HELD_WRITE = """
import sys, threading
from pathlib import Path
from werkzeug.test import Client
from services.local.emulator import Emulator
from services.local.snapshots import register_reducers

register_reducers()
emulator = Emulator("127.0.0.1", 0, Path(sys.argv[1]), interval=0)
moto, entered, release = emulator.app.app, threading.Event(), threading.Event()

def held(environ, start_response):  # holds the write between being counted (if early) and being applied
    entered.set()
    release.wait(30)
    return moto(environ, start_response)

emulator.app.app = held
create = {"TableName": "held-write", "BillingMode": "PAY_PER_REQUEST",
          "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
          "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}]}
headers = {"X-Amz-Target": "DynamoDB_20120810.CreateTable", "Content-Type": "application/x-amz-json-1.0",
           "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/dynamodb/aws4_request, "
                            "SignedHeaders=host, Signature=0"}
writer = threading.Thread(target=lambda: Client(emulator.app).post("/", json=create, headers=headers))
writer.start()
assert entered.wait(30)
emulator.save()          # a snapshot while the write is held: it cannot hold the table
release.set()
writer.join(30)
if emulator.app.count != emulator.saved_at_count:  # what the emulator does at exit
    emulator.save()
"""


def test_a_write_applied_during_a_snapshot_is_saved_by_a_later_one(tmp_path: Path):
    snapshot = tmp_path / "snapshot.pickle"
    result = subprocess.run([sys.executable, "-c", HELD_WRITE, str(snapshot)], cwd=processes.REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert b"held-write" in snapshot.read_bytes()
