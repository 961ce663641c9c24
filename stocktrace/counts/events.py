EVENTS = {
    "count_area.approved": "A counted area of a count session was approved by a supervisor",
    "count.completed": "A count session was completed: its corrections are in the ledger, its report is frozen",
}
