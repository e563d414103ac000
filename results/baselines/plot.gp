set terminal svg size 900,1380 dynamic enhanced font 'Helvetica,13'
set output "plot.svg"
set multiplot layout 3,1 title "Baselines: fp32, BNN, XNOR, DoReFa, TWN, LSQ, PACT"
set lmargin at screen 0.08
set rmargin at screen 0.74
set title "LeNet-5 FMNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
set key outside right top
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:5.5]
set style fill empty
set autoscale y
set xtics ("W1A1" 0, "W1A2" 1, "WtA2" 2, "W2A2" 3, "W4A4" 4, "WtA32" 5)
set label 1 "fp32 91.59" at graph 0.01, first 91.5867 left offset 0, -0.8 textcolor rgb "#555555"
plot "plot.dat" index 0 using 1:2:3 with yerrorlines lw 2 pt 5 ps 1.2 lt 2 notitle, \
     "plot.dat" index 1 using 1:2:3 with yerrorlines lw 2 pt 9 ps 1.2 lt 3 notitle, \
     "plot.dat" index 2 using 1:2:3 with yerrorlines lw 2 pt 11 ps 1.2 lt 4 notitle, \
     "plot.dat" index 3 using 1:2:3 with yerrorlines lw 2 pt 13 ps 1.2 lt 5 notitle, \
     "plot.dat" index 4 using 1:2:3 with yerrorlines lw 2 pt 15 ps 1.2 lt 6 notitle, \
     "plot.dat" index 5 using 1:2:3 with yerrorlines lw 2 pt 4 ps 1.2 lt 7 notitle, \
     "plot.dat" index 6 using 1:2:3 with yerrorlines lw 2 pt 6 ps 1.2 lt 8 notitle, \
     91.5867 with lines dt 2 lw 2 lc rgb "#555555" notitle, \
     keyentry with yerrorlines lw 2 pt 5 ps 1.2 lt 2 title "BNN", \
     keyentry with yerrorlines lw 2 pt 9 ps 1.2 lt 3 title "XNOR", \
     keyentry with yerrorlines lw 2 pt 11 ps 1.2 lt 4 title "DoReFa", \
     keyentry with yerrorlines lw 2 pt 13 ps 1.2 lt 5 title "TWN", \
     keyentry with yerrorlines lw 2 pt 15 ps 1.2 lt 6 title "LSQ", \
     keyentry with yerrorlines lw 2 pt 4 ps 1.2 lt 7 title "PACT", \
     keyentry with yerrorlines lw 2 pt 6 ps 1.2 lt 8 title "DoReFa (all layers)", \
     keyentry with lines dt 2 lw 2 lc rgb "#555555" title "fp32"
set title "LeNet-5 MNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
unset key
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:5.5]
set style fill empty
set autoscale y
set xtics ("W1A1" 0, "W1A2" 1, "WtA2" 2, "W2A2" 3, "W4A4" 4, "WtA32" 5)
set label 1 "fp32 99.34" at graph 0.01, first 99.34 left offset 0, -0.8 textcolor rgb "#555555"
plot "plot.dat" index 7 using 1:2:3 with yerrorlines lw 2 pt 5 ps 1.2 lt 2 notitle, \
     "plot.dat" index 8 using 1:2:3 with yerrorlines lw 2 pt 9 ps 1.2 lt 3 notitle, \
     "plot.dat" index 9 using 1:2:3 with yerrorlines lw 2 pt 11 ps 1.2 lt 4 notitle, \
     "plot.dat" index 10 using 1:2:3 with yerrorlines lw 2 pt 13 ps 1.2 lt 5 notitle, \
     "plot.dat" index 11 using 1:2:3 with yerrorlines lw 2 pt 15 ps 1.2 lt 6 notitle, \
     "plot.dat" index 12 using 1:2:3 with yerrorlines lw 2 pt 4 ps 1.2 lt 7 notitle, \
     "plot.dat" index 13 using 1:2:3 with yerrorlines lw 2 pt 6 ps 1.2 lt 8 notitle, \
     99.34 with lines dt 2 lw 2 lc rgb "#555555" notitle
set title "ResNet-20 FMNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
unset key
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:5.5]
set style fill empty
set autoscale y
set xtics ("W1A1" 0, "W1A2" 1, "WtA2" 2, "W2A2" 3, "W4A4" 4, "WtA32" 5)
set label 1 "fp32 86.06" at graph 0.01, first 86.06 left offset 0, -0.8 textcolor rgb "#555555"
plot "plot.dat" index 14 using 1:2:3 with yerrorlines lw 2 pt 5 ps 1.2 lt 2 notitle, \
     "plot.dat" index 15 using 1:2:3 with yerrorlines lw 2 pt 9 ps 1.2 lt 3 notitle, \
     "plot.dat" index 16 using 1:2:3 with yerrorlines lw 2 pt 11 ps 1.2 lt 4 notitle, \
     "plot.dat" index 17 using 1:2:3 with yerrorlines lw 2 pt 13 ps 1.2 lt 5 notitle, \
     "plot.dat" index 18 using 1:2:3 with yerrorlines lw 2 pt 15 ps 1.2 lt 6 notitle, \
     "plot.dat" index 19 using 1:2:3 with yerrorlines lw 2 pt 4 ps 1.2 lt 7 notitle, \
     "plot.dat" index 20 using 1:2:3 with yerrorlines lw 2 pt 6 ps 1.2 lt 8 notitle, \
     86.06 with lines dt 2 lw 2 lc rgb "#555555" notitle
unset multiplot
set lmargin -1
set rmargin -1
set terminal pngcairo size 900,1380 enhanced font 'Helvetica,11'
set output "plot.png"
set multiplot layout 3,1 title "Baselines: fp32, BNN, XNOR, DoReFa, TWN, LSQ, PACT"
set lmargin at screen 0.08
set rmargin at screen 0.74
set title "LeNet-5 FMNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
set key outside right top
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:5.5]
set style fill empty
set autoscale y
set xtics ("W1A1" 0, "W1A2" 1, "WtA2" 2, "W2A2" 3, "W4A4" 4, "WtA32" 5)
set label 1 "fp32 91.59" at graph 0.01, first 91.5867 left offset 0, -0.8 textcolor rgb "#555555"
plot "plot.dat" index 0 using 1:2:3 with yerrorlines lw 2 pt 5 ps 1.2 lt 2 notitle, \
     "plot.dat" index 1 using 1:2:3 with yerrorlines lw 2 pt 9 ps 1.2 lt 3 notitle, \
     "plot.dat" index 2 using 1:2:3 with yerrorlines lw 2 pt 11 ps 1.2 lt 4 notitle, \
     "plot.dat" index 3 using 1:2:3 with yerrorlines lw 2 pt 13 ps 1.2 lt 5 notitle, \
     "plot.dat" index 4 using 1:2:3 with yerrorlines lw 2 pt 15 ps 1.2 lt 6 notitle, \
     "plot.dat" index 5 using 1:2:3 with yerrorlines lw 2 pt 4 ps 1.2 lt 7 notitle, \
     "plot.dat" index 6 using 1:2:3 with yerrorlines lw 2 pt 6 ps 1.2 lt 8 notitle, \
     91.5867 with lines dt 2 lw 2 lc rgb "#555555" notitle, \
     keyentry with yerrorlines lw 2 pt 5 ps 1.2 lt 2 title "BNN", \
     keyentry with yerrorlines lw 2 pt 9 ps 1.2 lt 3 title "XNOR", \
     keyentry with yerrorlines lw 2 pt 11 ps 1.2 lt 4 title "DoReFa", \
     keyentry with yerrorlines lw 2 pt 13 ps 1.2 lt 5 title "TWN", \
     keyentry with yerrorlines lw 2 pt 15 ps 1.2 lt 6 title "LSQ", \
     keyentry with yerrorlines lw 2 pt 4 ps 1.2 lt 7 title "PACT", \
     keyentry with yerrorlines lw 2 pt 6 ps 1.2 lt 8 title "DoReFa (all layers)", \
     keyentry with lines dt 2 lw 2 lc rgb "#555555" title "fp32"
set title "LeNet-5 MNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
unset key
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:5.5]
set style fill empty
set autoscale y
set xtics ("W1A1" 0, "W1A2" 1, "WtA2" 2, "W2A2" 3, "W4A4" 4, "WtA32" 5)
set label 1 "fp32 99.34" at graph 0.01, first 99.34 left offset 0, -0.8 textcolor rgb "#555555"
plot "plot.dat" index 7 using 1:2:3 with yerrorlines lw 2 pt 5 ps 1.2 lt 2 notitle, \
     "plot.dat" index 8 using 1:2:3 with yerrorlines lw 2 pt 9 ps 1.2 lt 3 notitle, \
     "plot.dat" index 9 using 1:2:3 with yerrorlines lw 2 pt 11 ps 1.2 lt 4 notitle, \
     "plot.dat" index 10 using 1:2:3 with yerrorlines lw 2 pt 13 ps 1.2 lt 5 notitle, \
     "plot.dat" index 11 using 1:2:3 with yerrorlines lw 2 pt 15 ps 1.2 lt 6 notitle, \
     "plot.dat" index 12 using 1:2:3 with yerrorlines lw 2 pt 4 ps 1.2 lt 7 notitle, \
     "plot.dat" index 13 using 1:2:3 with yerrorlines lw 2 pt 6 ps 1.2 lt 8 notitle, \
     99.34 with lines dt 2 lw 2 lc rgb "#555555" notitle
set title "ResNet-20 FMNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
unset key
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:5.5]
set style fill empty
set autoscale y
set xtics ("W1A1" 0, "W1A2" 1, "WtA2" 2, "W2A2" 3, "W4A4" 4, "WtA32" 5)
set label 1 "fp32 86.06" at graph 0.01, first 86.06 left offset 0, -0.8 textcolor rgb "#555555"
plot "plot.dat" index 14 using 1:2:3 with yerrorlines lw 2 pt 5 ps 1.2 lt 2 notitle, \
     "plot.dat" index 15 using 1:2:3 with yerrorlines lw 2 pt 9 ps 1.2 lt 3 notitle, \
     "plot.dat" index 16 using 1:2:3 with yerrorlines lw 2 pt 11 ps 1.2 lt 4 notitle, \
     "plot.dat" index 17 using 1:2:3 with yerrorlines lw 2 pt 13 ps 1.2 lt 5 notitle, \
     "plot.dat" index 18 using 1:2:3 with yerrorlines lw 2 pt 15 ps 1.2 lt 6 notitle, \
     "plot.dat" index 19 using 1:2:3 with yerrorlines lw 2 pt 4 ps 1.2 lt 7 notitle, \
     "plot.dat" index 20 using 1:2:3 with yerrorlines lw 2 pt 6 ps 1.2 lt 8 notitle, \
     86.06 with lines dt 2 lw 2 lc rgb "#555555" notitle
unset multiplot
set lmargin -1
set rmargin -1
unset output
