from pulse_agent_adapter.app import main

main()
