"""Access and shared services: emergency-center coverage and siting, shared centers, 2SFCA, visit-share estimates.

The modules by role: `matrix` (travel minutes from township seats to facilities), `coverage`
(residents within reach of each emergency-center type), `covering` (the exact maximal-covering
model), `shared` and `routing` (shared-center hosts and courier round trips), `fca` (two-step
floating catchment), `equity` (Gini, Lorenz), `choice` (the capacity-constrained Huff model),
`rules` (the rule kinds), `run` (the access phase of a plan), `outputs`, `charts`, `report`,
`layers` and `check` (the independent checker of the written tables).
"""
