export { runSimulation, formatFailure, Simulation, type SimOptions, type SimResult, type SimStats } from './simulator.js';
export { InvariantViolation } from './invariants.js';
