"""Tests of gym_conform.scaffold."""
