EVENTS = {
    "job.dead": "A background job failed on every attempt and was dead-lettered",
}
