"""The data every stage shares: the Environment, build options, the BuildPlan, findings, arches."""
