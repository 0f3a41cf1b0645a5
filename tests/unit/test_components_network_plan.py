"""The VPC arithmetic: subnet CIDRs per AZ, NAT placement, endpoint names."""

from __future__ import annotations

import ipaddress

import pytest

from components import network_plan


def test_a_16_is_split_into_two_private_and_two_public_quarters():
    plan = network_plan.plan_subnets("10.0.0.0/16")
    assert [(p.logical_name, p.cidr) for p in plan] == [
        ("private-0", "10.0.0.0/18"), ("private-1", "10.0.64.0/18"),
        ("public-0", "10.0.128.0/18"), ("public-1", "10.0.192.0/18")]


def test_the_smallest_allowed_vpc_still_gets_four_subnets():
    assert [p.cidr for p in network_plan.plan_subnets("10.1.4.0/22")] == [
        "10.1.4.0/24", "10.1.5.0/24", "10.1.6.0/24", "10.1.7.0/24"]


def test_subnets_never_overlap_and_stay_inside_the_vpc():
    vpc = ipaddress.IPv4Network("172.16.0.0/20")
    nets = [ipaddress.IPv4Network(p.cidr) for p in network_plan.plan_subnets(str(vpc))]
    assert all(n.subnet_of(vpc) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])


def test_three_azs_round_up_to_eight_blocks():
    plan = network_plan.plan_subnets("10.0.0.0/16", az_count=3)
    assert [p.cidr for p in plan][:3] == ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]
    assert len(plan) == 6


def test_a_vpc_too_small_for_its_subnets_is_refused():
    with pytest.raises(ValueError, match="too small"):
        network_plan.plan_subnets("10.0.0.0/27")


def test_one_nat_serves_both_private_subnets():
    assert network_plan.nat_for_private_subnet(1) == [0, 0]


def test_one_nat_per_az_keeps_each_subnet_in_its_zone():
    assert network_plan.nat_for_private_subnet(2) == [0, 1]


def test_more_nats_than_azs_is_refused():
    with pytest.raises(ValueError):
        network_plan.nat_for_private_subnet(3)


def test_endpoint_service_names_are_regional():
    assert network_plan.endpoint_service_name("eu-west-1", "ecr.dkr") == "com.amazonaws.eu-west-1.ecr.dkr"


@pytest.mark.parametrize(("public", "creates_vpc", "expected"), [
    ([], True, True), (["subnet-1"], False, True), ([], False, False), (None, False, False)])
def test_albs_face_the_internet_only_where_there_are_public_subnets(public, creates_vpc, expected):
    assert network_plan.alb_is_internet_facing(public, creates_vpc) is expected
