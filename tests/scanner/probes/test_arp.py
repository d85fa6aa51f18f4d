"""ARP's reply window: when a round may stop listening (the sends themselves run in the lab)."""

import pytest

from scanner.probes.arp import ArpWindow, request_frames


def test_still_sending_has_no_end():
    assert ArpWindow(4, floor=0.25, wait_s=1.0).end() is None


def test_everyone_answered_ends_at_once():
    window = ArpWindow(2, floor=0.25, wait_s=1.0)
    window.reply(0.002, 10.0)
    window.reply(0.003, 10.1)
    window.last_send = 10.2
    assert window.end() == 10.2


def test_silence_ends_after_the_floor_not_the_full_wait():
    window = ArpWindow(254, floor=0.25, wait_s=1.0)
    window.reply(0.004, 5.0)
    window.last_send = 5.3
    assert window.end() == 5.3 + 0.25


def test_a_slow_segment_stretches_the_quiet_to_four_slowest_replies():
    window = ArpWindow(254, floor=0.25, wait_s=1.0)
    window.reply(0.150, 5.2)
    window.last_send = 5.3
    assert abs(window.end() - (5.3 + 0.6)) < 1e-9
    # A later reply moves the end with it ...
    window.reply(0.100, 5.6)
    assert abs(window.end() - (5.6 + 0.6)) < 1e-9


def test_never_past_the_wait_after_the_last_request():
    window = ArpWindow(254, floor=0.25, wait_s=1.0)
    window.reply(0.9, 5.9)  # a trickle that would stretch the quiet to 3.6 s
    window.last_send = 5.5
    assert window.end() == 5.5 + 1.0


@pytest.mark.loopback  # scapy asks the kernel (a socket ioctl) for the source MAC and route
def test_request_frames_are_scapy_who_has_frames_for_each_target():
    from scapy.layers.l2 import ARP, Ether

    targets = ["198.18.0.1", "198.18.3.77", "198.19.255.254"]
    frames = request_frames(targets)
    for target, frame in zip(targets, frames, strict=True):
        packet = Ether(frame)
        assert packet.dst == "ff:ff:ff:ff:ff:ff"
        assert packet[ARP].op == 1
        assert packet[ARP].pdst == target
    # Everything but the target address is the first frame's, as scapy built it.
    assert {f[:38] + f[42:] for f in frames} == {frames[0][:38] + frames[0][42:]}
    assert request_frames([]) == []
