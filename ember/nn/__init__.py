"""ember.nn: modules, containers and criteria with Torch's ``nn`` protocol, on NumPy."""

from ember.nn.activation import Sigmoid
from ember.nn.containers import Concat, ConcatTable, Container, ParallelTable, Sequential
from ember.nn.criterion import Criterion
from ember.nn.linear import Identity, Linear
from ember.nn.module import Module
