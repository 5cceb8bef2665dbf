from pulse_planner.app import main

main()
