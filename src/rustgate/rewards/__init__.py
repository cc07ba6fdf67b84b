"""Rewards for reinforcement learning on the gate's verdicts: ``CompileReward`` (and ``JudgeReward``) for
TRL's GRPOTrainer (docs/rewards.md)."""

from rustgate.rewards.avoidance import avoidance
from rustgate.rewards.compile_reward import CompileReward, RewardScores
from rustgate.rewards.judge_reward import JudgeReward

__all__ = ["CompileReward", "JudgeReward", "RewardScores", "avoidance"]
