"""Every village served: service modes, weekly circuit routes (巡回诊疗) and remote-consultation timetables.

The modules by role: `rules` (the rule kinds circuit_coverage and remote_consultation), `modes`
(fixed care within reach, circuit visits needed, remote links), `routes` (a health center's week:
visit days, then a VRPTW per day solved by PyVRP), `timetable` (the remote sessions, CP-SAT),
`run` (the village phase of a plan), `outputs` (the tables in a plan folder), `check` (the
independent checker of the written tables) and `layers` (the county map layers).
"""
