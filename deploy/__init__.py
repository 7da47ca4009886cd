"""hacknode: provisions a class of isolated Rapid News hacknodes and ships teams' code."""
