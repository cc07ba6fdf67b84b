"""Rewards for reinforcement learning on the gate's verdicts: ``CompileReward`` for TRL's
GRPOTrainer (docs/rewards.md)."""

from rustgate.rewards.avoidance import avoidance
from rustgate.rewards.compile_reward import CompileReward, RewardScores

__all__ = ["CompileReward", "RewardScores", "avoidance"]
