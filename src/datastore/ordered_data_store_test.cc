// placeholder: test being written by the datastore owner
