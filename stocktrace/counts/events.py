EVENTS = {
    "count_area.approved": "A counted area of a count session was approved by a supervisor",
}
