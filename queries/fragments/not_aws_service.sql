{#- A call a person or a workload made, not one an AWS service made on its behalf: the resolved
    actor is not a service (invokedBy set, an AWSService identity, a service event, or a service
    name such as sqs.amazonaws.com as the source address; fragments/actor_direct.sql). The
    false-positive floor of every new detection; needs a query reading `actor_records`. -#}
actor_type <> 'service'
