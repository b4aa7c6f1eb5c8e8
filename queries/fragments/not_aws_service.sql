{#- A call a person or a workload made, not one an AWS service made on its behalf (invokedBy set,
    an AWSService identity) nor a service event: the false-positive floor of every new detection. -#}
COALESCE(useridentity.invokedby, '') = ''
  AND COALESCE(useridentity.type, '') <> 'AWSService'
  AND COALESCE(eventtype, '') <> 'AwsServiceEvent'
