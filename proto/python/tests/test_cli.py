"""The command lines of trainsim and trainsub: flags, environment, exit
statuses and signals."""

import json
import signal
import socket

import pytest

import trainevents as te
from helpers import SubThread, bin_path, run, spawn, trainsub

FLAGS = ["--endpoint", "--scenario", "--trainer", "--episodes", "--rate", "--stop-at",
         "--fail-at", "--loop", "--pause-ms", "--ready-timeout-ms", "--seed", "--quiet",
         "--heartbeat-interval-ms", "--help"]


def dead_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def clean_env():
    """An environment override for trainsim (helpers.Proc already drops the
    caller's TRAINSIM_* variables)."""
    return {}


def test_trainsim_help_lists_every_flag():
    status, out, _ = run([bin_path("trainsim"), "--help"])
    text = "\n".join(out)
    assert status == 0
    for flag in FLAGS:
        assert flag in text
    assert "TRAINSIM_" in text


@pytest.mark.parametrize("args,env,needle", [
    (["--episodes", "0"], {}, "--episodes"),
    (["--episodes", "ten"], {}, "--episodes"),
    (["--rate", "-1"], {}, "--rate"),
    (["--rate", "nan"], {}, "--rate"),
    (["--pause-ms", "x"], {}, "--pause-ms"),
    (["--seed", "-3"], {}, "--seed"),
    (["--episodes"], {}, "--episodes"),
    (["--loop=maybe"], {}, "--loop"),
    (["--bogus"], {}, "--bogus"),
    (["--stop-at", "1", "--fail-at", "2"], {}, "--stop-at"),
    (["--stop-at", "11"], {}, "--stop-at"),
    (["--scenario", "a b"], {}, "--scenario"),
    (["--scenario", "a", "--scenario", "a"], {}, "--scenario"),
    (["--trainer", ".t"], {}, "--trainer"),
    (["--heartbeat-interval-ms", "99"], {}, "--heartbeat-interval-ms"),
    (["--heartbeat-interval-ms", "-1"], {}, "--heartbeat-interval-ms"),
    (["--heartbeat-interval-ms", "3600001"], {}, "--heartbeat-interval-ms"),
    ([], {"TRAINSIM_HEARTBEAT_INTERVAL_MS": "fast"}, "TRAINSIM_HEARTBEAT_INTERVAL_MS"),
    ([], {"TRAINSIM_EPISODES": "many"}, "TRAINSIM_EPISODES"),
    ([], {"TRAINSIM_LOOP": "perhaps"}, "TRAINSIM_LOOP"),
])
def test_trainsim_bad_values_name_the_flag(args, env, needle):
    base = ["--scenario", "ok"] if "--scenario" not in args else []
    status, out, err = run([bin_path("trainsim"), *base, *args], {**clean_env(), **env})
    assert status == 2
    assert len(err) == 1 and needle in err[0] and err[0].startswith("trainsim: "), err


@pytest.mark.parametrize("endpoint", ["bogus://nowhere", "tcp://127.0.0.1", "@tcp://256.1.1.1:1"])
def test_trainsim_bad_endpoint_is_bad_usage(endpoint):
    status, _, err = run([bin_path("trainsim"), "--scenario", "a", "--endpoint", endpoint],
                         clean_env())
    assert status == 2 and len(err) == 1 and err[0].startswith("trainsim: --endpoint: "), err


def test_trainsim_ignores_empty_variables():
    with SubThread() as sub:
        env = {"TRAINSIM_EPISODES": "", "TRAINSIM_SCENARIO": "", "TRAINSIM_SEED": ""}
        status, _, err = run([bin_path("trainsim"), "--endpoint", sub.endpoint, "--scenario",
                              "a", "--rate", "0", "--quiet"], env)
        assert status == 0, err
        assert te.decode_frames(sub.get())["data"]["num_episodes"] == 10


def test_trainsim_needs_a_scenario():
    status, _, err = run([bin_path("trainsim")], clean_env())
    assert status == 2 and "--scenario" in err[0]


def test_trainsim_without_subscriber_fails_after_the_ready_timeout():
    endpoint = dead_endpoint()
    status, _, err = run([bin_path("trainsim"), "--endpoint", endpoint, "--scenario", "a",
                          "--ready-timeout-ms", "300", "--quiet"], clean_env())
    assert status == 1
    assert err == [f"trainsim: no subscriber at {endpoint} within 300 ms"]


def test_trainsim_reads_the_environment_and_flags_win():
    with SubThread() as sub:
        env = {**clean_env(), "TRAINSIM_ENDPOINT": sub.endpoint, "TRAINSIM_SCENARIO": "x,y",
               "TRAINSIM_EPISODES": "9", "TRAINSIM_RATE": "0", "TRAINSIM_QUIET": "1",
               "TRAINSIM_TRAINER": "env-t"}
        status, _, err = run([bin_path("trainsim"), "--episodes", "2"], env)
        assert status == 0 and err == []
        envs = [te.decode_frames(sub.get()) for _ in range(2 * 4)]
    assert {e["scenario"] for e in envs} == {"x", "y"}
    assert {e["trainer"] for e in envs} == {"env-t"}
    assert envs[0]["data"]["num_episodes"] == 2


def test_trainsim_scenario_flag_replaces_the_environment_list():
    with SubThread() as sub:
        env = {**clean_env(), "TRAINSIM_SCENARIO": "x,y"}
        status, _, err = run([bin_path("trainsim"), "--endpoint", sub.endpoint, "--scenario",
                              "z", "--episodes", "1", "--rate", "0", "--quiet"], env)
        assert status == 0, err
        envs = [te.decode_frames(sub.get()) for _ in range(3)]
        assert sub.empty_for(0.2)
    assert {e["scenario"] for e in envs} == {"z"}


def test_trainsim_prints_one_line_per_event():
    with SubThread() as sub:
        status, _, err = run([bin_path("trainsim"), "--endpoint", sub.endpoint, "--scenario",
                              "a", "--episodes", "2", "--rate", "0", "--trainer", "t9"],
                             clean_env())
    assert status == 0 and len(err) == 4
    assert all(line.startswith("trainsim: t9 seq=") for line in err)
    assert "training_progress episode=1/2" in err[1]


def test_trainsim_same_seed_same_metrics():
    def metrics():
        with SubThread() as sub:
            status, _, _ = run([bin_path("trainsim"), "--endpoint", sub.endpoint, "--scenario",
                                "a", "--episodes", "3", "--rate", "0", "--seed", "42",
                                "--quiet"], clean_env())
            assert status == 0
            envs = [te.decode_frames(sub.get()) for _ in range(5)]
        return [e["data"]["avg_reward"] for e in envs[1:4]]
    assert metrics() == metrics()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_trainsim_loop_starts_new_runs_until_a_signal(sig):
    with SubThread() as sub:
        with spawn([bin_path("trainsim"), "--endpoint", sub.endpoint, "--scenario", "a",
                    "--episodes", "2", "--rate", "0", "--loop", "--pause-ms", "50", "--quiet"],
                   clean_env()) as proc:
            envs = [te.decode_frames(sub.get()) for _ in range(9)]
            proc.signal(sig)
            assert proc.wait() == 0
    assert [e["event"] for e in envs] == (["training_started", "training_progress",
                                           "training_progress", "training_completed"] * 2 +
                                          ["training_started"])
    assert [e["seq"] for e in envs] == list(range(1, 10))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_trainsim_interrupted_run_ends_with_training_stopped(sig):
    with SubThread() as sub:
        with spawn([bin_path("trainsim"), "--endpoint", sub.endpoint, "--scenario", "a",
                    "--episodes", "1000", "--rate", "50", "--quiet"], clean_env()) as proc:
            envs = [te.decode_frames(sub.get()) for _ in range(3)]
            proc.signal(sig)
            assert proc.wait() == 0
            while envs[-1]["event"] == "training_progress":
                envs.append(te.decode_frames(sub.get()))
    n_progress = sum(e["event"] == "training_progress" for e in envs)
    assert envs[-1]["event"] == "training_stopped"
    assert envs[-1]["data"] == {"scenario_name": "a", "episodes_completed": n_progress}


def test_trainsub_help_and_bad_usage():
    status, out, _ = run([bin_path("trainsub"), "--help"])
    assert status == 0 and "--timeout-ms" in "\n".join(out)
    for args, needle in ((["--count", "0"], "--count"), (["--timeout-ms", "x"], "--timeout-ms"),
                         (["--scenario", "a b"], "--scenario"), (["--what", "1"], "--what"),
                         (["--count"], "--count")):
        status, _, err = run([bin_path("trainsub"), *args])
        assert status == 2 and needle in err[0], (args, err)


def test_trainsub_times_out_without_messages():
    with trainsub("--timeout-ms", "300") as (proc, _):
        assert proc.wait() == 1
        err = proc.err.rest()
    assert err == ["trainsub: no message for 300 ms", "trainsub: 0 events, 0 rejected, 0 gaps"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_trainsub_exits_0_on_a_signal_with_a_summary(sig):
    with trainsub() as (proc, endpoint):
        with te.Publisher(endpoint, heartbeat_interval=None, trainer="t") as pub:
            pub.training_stopped("a", 0)
        json.loads(proc.out.get())
        proc.signal(sig)
        assert proc.wait() == 0
        assert proc.err.rest() == ["trainsub: 1 events, 0 rejected, 0 gaps"]


def test_trainsub_bind_failure_is_a_runtime_error():
    with trainsub() as (proc, endpoint):
        status, _, err = run([bin_path("trainsub"), "--bind", endpoint, "--timeout-ms", "100"])
    assert status == 1 and "cannot bind" in err[0]


@pytest.mark.parametrize("how", ["flag", "env"])
def test_trainsim_heartbeats_until_the_run_ends(how):
    """One episode every 0.5 s, a heartbeat every 0.1 s: heartbeats between
    episodes carry the latest episode and stop at training_completed."""
    args = ["--heartbeat-interval-ms", "100"] if how == "flag" else []
    env = {"TRAINSIM_HEARTBEAT_INTERVAL_MS": "100"} if how == "env" else {}
    with SubThread() as sub:
        status, _, err = run([bin_path("trainsim"), "--endpoint", sub.endpoint, "--scenario",
                              "a", "--episodes", "3", "--rate", "2", "--quiet", *args], env)
        assert status == 0, err
        envs = []
        while (msg := sub.get_or_none(0.5)) is not None:
            envs.append(te.decode_frames(msg))
    last_seq = 0
    for e in envs:  # events numbered 1, 2, ...; a heartbeat repeats the latest
        assert e["seq"] == (last_seq if e["event"] == "heartbeat" else last_seq + 1)
        last_seq = e["seq"]
    events = [e["event"] for e in envs]
    assert events[:2] == ["training_started", "heartbeat"]
    assert events[-1] == "training_completed"
    beats = [e for e in envs if e["event"] == "heartbeat"]
    assert len(beats) >= 4, events  # 1.5 s of run, a beat every 0.1 s
    assert {b["data"]["interval_ms"] for b in beats} == {100}
    episode = 0
    for e in envs:
        if e["event"] == "training_progress":
            episode = e["data"]["episode"]
        elif e["event"] == "heartbeat":
            assert e["data"]["episode"] == episode
